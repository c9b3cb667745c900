"""CPU time and resident memory of a process and its descendants (uvicorn or Node workers), from /proc."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def _parents() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, user + system clock ticks) of every process."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return stats


def _tree(pid: int, stats: dict[int, tuple[int, int]]) -> set[int]:
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, (ppid, _) in stats.items() if ppid == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return tree


def _family(pid: int) -> tuple[set[int], dict[int, tuple[int, int]]] | None:
    """`pid` and its descendants, with every process's stats; None without /proc or when `pid` is gone."""
    try:
        stats = _parents()
    except OSError:
        return None
    return (_tree(pid, stats), stats) if pid in stats else None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of `pid` and its descendants; None without /proc or when `pid` is gone."""
    family = _family(pid)
    if family is None:
        return None
    tree, stats = family
    return sum(stats[p][1] for p in tree) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int | None:
    """Resident memory (VmRSS) of `pid` and its descendants, summed; None when unknown."""
    family = _family(pid)
    if family is None:
        return None
    total = 0
    for p in family[0]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def run_queue_seconds(pid: int) -> float | None:
    """Time the threads of `pid` and its descendants spent runnable but waiting for a CPU (schedstat),
    summed: how much the machine's other processes kept them off their core. None when unknown."""
    family = _family(pid)
    if family is None:
        return None
    total = 0
    for p in family[0]:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9
