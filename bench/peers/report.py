"""The peer benchmark's arithmetic and output: answer diffs, medians of rounds, ratios, tables.

Pure functions over plain dicts (what var/bench/peers.json holds), so tests/bench can check them.
"""

from __future__ import annotations

import difflib
import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench.peers.gateways import GRAFBASE, NODE_PEERS

MAX_DIFF_LINES = 40
# Per round, the figures whose median is the gateway's result (a missing figure is left out).
MEDIAN_FIELDS = ("requests_per_second", "events_per_second", "p50_ms", "p99_ms",
                 "cpu_ms_per_request", "cpu_ms_per_event", "core_share", "run_queue_share")


def answer_diff(expected: Any, actual: Any, label: str) -> str | None:
    """None when ``actual`` is ``expected`` (as JSON values), else a unified diff of the two."""
    if actual == expected:
        return None

    def lines(value: Any) -> list[str]:
        return json.dumps(value, indent=1, sort_keys=True).splitlines()

    diff = list(difflib.unified_diff(lines(expected), lines(actual), "expected", label, lineterm="", n=2))
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)"]
    return "\n".join(diff)


def rotated(names: Sequence[str], round_index: int) -> list[str]:
    """``names`` started at a different one each round, so no gateway always runs first."""
    if not names:
        return []
    shift = round_index % len(names)
    return [*names[shift:], *names[:shift]]


def summarize(rounds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Medians of the rounds' figures, errors summed, the largest RSS, and the rounds themselves."""
    summary: dict[str, Any] = {}
    for field in MEDIAN_FIELDS:
        values = [r[field] for r in rounds if r.get(field) is not None]
        if values:
            summary[field] = statistics.median(values)
    summary["errors"] = sum(int(r.get("errors", 0)) for r in rounds)
    rss = [r["rss_mib"] for r in rounds if r.get("rss_mib") is not None]
    if rss:
        summary["rss_mib"] = max(rss)
    summary["rounds"] = [dict(r) for r in rounds]
    return summary


def throughput_field(subscription: bool) -> str:
    return "events_per_second" if subscription else "requests_per_second"


def add_ratios(summaries: dict[str, dict[str, Any]], subscription: bool) -> dict[str, Any]:
    """Each gateway's throughput over the best Node peer's and over Grafbase's (same workload, same
    run), in place; returns which gateway each ratio is relative to."""
    field = throughput_field(subscription)
    node = {n: s[field] for n, s in summaries.items() if n in NODE_PEERS and s.get(field)}
    best_node = max(node, key=lambda n: node[n]) if node else None
    grafbase = summaries.get(GRAFBASE, {}).get(field)
    for summary in summaries.values():
        value = summary.get(field)
        if value is None:
            continue
        if best_node:
            summary["vs_best_node"] = value / node[best_node]
        if grafbase:
            summary["vs_grafbase"] = value / grafbase
    return {"best_node_peer": best_node, "grafbase": GRAFBASE if grafbase else None}


def _cell(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _percent(share: Any) -> str:
    return "-" if share is None else f"{100 * share:.0f}"


def _ratio(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(summaries: Mapping[str, Mapping[str, Any]], subscription: bool) -> str:
    """One workload's table: a row per measured gateway."""
    unit = "event" if subscription else "req"
    header = (f"{'gateway':<24}{unit + '/s':>10}{'p50 ms':>9}{'p99 ms':>9}{f'CPU ms/{unit}':>14}{'core %':>8}"
              f"{'waited %':>9}{'RSS MiB':>9}{'errors':>8}{'vs best Node':>14}{'vs Grafbase':>13}")
    rows = [header, "-" * len(header)]
    for name, s in summaries.items():
        rows.append(
            f"{name:<24}{_cell(s.get(throughput_field(subscription)), ',.0f'):>10}"
            f"{_cell(s.get('p50_ms'), '.2f'):>9}{_cell(s.get('p99_ms'), '.2f'):>9}"
            f"{_cell(s.get('cpu_ms_per_' + ('event' if subscription else 'request')), '.3f'):>14}"
            f"{_percent(s.get('core_share')):>8}{_percent(s.get('run_queue_share')):>9}"
            f"{_cell(s.get('rss_mib'), '.0f'):>9}{s.get('errors', 0):>8}"
            f"{_ratio(s.get('vs_best_node')):>14}{_ratio(s.get('vs_grafbase')):>13}"
        )
    return "\n".join(rows)


def scaling(summaries: Mapping[str, Mapping[str, Any]], one: str, two: str, subscription: bool) -> dict[str, Any]:
    """Throughput and CPU per unit of work of the two-worker gateway over the one-worker one."""
    field = throughput_field(subscription)
    cpu = "cpu_ms_per_event" if subscription else "cpu_ms_per_request"
    a, b = summaries.get(one, {}), summaries.get(two, {})
    out: dict[str, Any] = {}
    if a.get(field) and b.get(field):
        out["throughput_ratio"] = b[field] / a[field]
    if a.get(cpu) and b.get(cpu):
        out["cpu_per_unit_ratio"] = b[cpu] / a[cpu]
    return out


def skipped_lines(skipped: Mapping[str, str]) -> Iterable[str]:
    for name, reason in skipped.items():
        yield f"  skipped {name}: {reason}"
