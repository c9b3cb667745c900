"""Time as MongoDB keeps it: timezone-aware UTC, to the millisecond."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now in UTC at the millisecond precision MongoDB stores, so a stored value reads back equal
    (keyset cursors depend on it)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def as_utc(value: datetime) -> datetime:
    """`value` made timezone-aware: a naive datetime read from MongoDB is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
