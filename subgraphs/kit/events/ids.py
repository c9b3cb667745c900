"""Redis Stream entry ids (`<ms>-<seq>`): parsing, ordering, the next id."""

from __future__ import annotations


def parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def next_id(entry_id: str) -> str:
    """The smallest id greater than `entry_id`."""
    ms, seq = parse_id(entry_id)
    return f"{ms}-{seq + 1}"


def min_id(ids: list[str]) -> str:
    return min(ids, key=parse_id)


def before(left: str, right: str) -> bool:
    return parse_id(left) < parse_id(right)
