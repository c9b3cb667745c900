"""How far every consumer group of the event stream is: what it has not been delivered yet (lag), what
it was delivered but has not acknowledged (pending), and what it gave up on (its dead-letter stream).

`stream_stats(redis)` is what `/events/stats` serves, what the retention uses to decide how far it may
trim, and what an external checker calls: `(await stream_stats(redis)).settled(["orders", ...])` is
true when every entry on the stream was delivered to each of those groups and acknowledged, that is
handled (or skipped as a type the group does not handle) or moved to the group's dead-letter stream
`events:dead:<group>` with its reason. Poison outbox entries, which never reached the stream, are in
`events:dead:outbox` (`outbox_dead_letters`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis

from subgraphs.kit.events.bus import EVENTS_STREAM

# Counting the lag of a group by walking the stream (Redis < 7 does not report it) stops here.
DEFAULT_LAG_COUNT_LIMIT = 10_000

_COUNT_AFTER = """
return #redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
"""


def dead_letter_stream(stream: str, group: str) -> str:
    """Where a consumer group's given-up entries go, each with its `error`."""
    return f"{stream}:dead:{group}"


def outbox_dead_letter_stream(stream: str) -> str:
    """Where the outbox relays put entries they can never publish, with the document and the reason."""
    return f"{stream}:dead:outbox"


# Dead letters wait for an operator this long (`replay_dead_letters`), then each new one trims the
# older ones (`XADD ... MINID`, exact: dead letters are few): a dead-letter stream does not grow without bound.
DEAD_LETTER_RETENTION_SECONDS = 30 * 24 * 3600


def dead_letter_minid(now: float | None = None) -> str:
    """The MINID that keeps the last `DEAD_LETTER_RETENTION_SECONDS` of a dead-letter stream."""
    now = time.time() if now is None else now
    return f"{int((now - DEAD_LETTER_RETENTION_SECONDS) * 1000)}-0"


@dataclass(frozen=True)
class GroupStats:
    name: str
    consumers: int
    pending: int  # delivered to a consumer, not acknowledged yet
    lag: int  # entries not delivered to the group yet (at least this many when `lag_capped`)
    lag_capped: bool
    last_delivered_id: str
    oldest_pending_id: str | None
    oldest_pending_idle_ms: int | None
    dead_letters: int

    @property
    def settled(self) -> bool:
        """Every entry on the stream was delivered to this group and acknowledged."""
        return self.pending == 0 and self.lag == 0


@dataclass(frozen=True)
class StreamStats:
    stream: str
    length: int
    first_id: str | None
    last_id: str | None
    groups: dict[str, GroupStats]
    outbox_dead_letters: int

    def unsettled(self, groups: Iterable[str] | None = None) -> list[str]:
        """The named groups (default: all) that are missing, lag behind, or hold unacknowledged entries."""
        names = list(self.groups) if groups is None else list(groups)
        return [name for name in names if name not in self.groups or not self.groups[name].settled]

    def settled(self, groups: Iterable[str] | None = None) -> bool:
        return not self.unsettled(groups)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "length": self.length,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "outbox_dead_letters": self.outbox_dead_letters,
            "groups": {name: {**asdict(group), "settled": group.settled} for name, group in self.groups.items()},
        }


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


async def stream_stats(
    redis: aioredis.Redis, stream: str = EVENTS_STREAM, *, lag_count_limit: int = DEFAULT_LAG_COUNT_LIMIT
) -> StreamStats:
    """Per-group lag, pending and dead-letter counts of `stream` (works on Redis 6.2 and 7).

    Redis 7 reports a group's lag itself; otherwise (or when Redis 7 cannot tell, after deletions) it
    is counted from the group's last delivered id, up to `lag_count_limit` (`lag_capped` then)."""
    if not await redis.exists(stream):
        return StreamStats(stream, 0, None, None, {}, int(await redis.xlen(outbox_dead_letter_stream(stream))))
    info = {(_text(k)): _text(v) for k, v in (await redis.xinfo_stream(stream)).items()}
    first = info.get("first-entry")
    last = info.get("last-entry")
    groups: dict[str, GroupStats] = {}
    for raw in await redis.xinfo_groups(stream):
        group = {_text(k): _text(v) for k, v in raw.items()}
        groups[group["name"]] = await _group_stats(redis, stream, group, lag_count_limit)
    return StreamStats(
        stream=stream,
        length=int(info["length"]),
        first_id=_text(first[0]) if first else None,
        last_id=_text(last[0]) if last else None,
        groups=groups,
        outbox_dead_letters=int(await redis.xlen(outbox_dead_letter_stream(stream))),
    )


async def _group_stats(redis: aioredis.Redis, stream: str, group: dict[str, Any], limit: int) -> GroupStats:
    name, last_delivered = str(group["name"]), str(group["last-delivered-id"])
    pending = int(group["pending"])
    lag_capped = False
    reported = group.get("lag")
    if reported is not None:
        lag = int(reported)
    else:
        lag = int(await redis.eval(_COUNT_AFTER, 1, stream, f"({last_delivered}", str(limit)))  # type: ignore[misc]
        lag_capped = lag >= limit
    oldest_id: str | None = None
    oldest_idle: int | None = None
    if pending:
        for oldest in await redis.xpending_range(stream, name, min="-", max="+", count=1):
            oldest_id, oldest_idle = _text(oldest["message_id"]), int(oldest["time_since_delivered"])
    return GroupStats(
        name=name,
        consumers=int(group["consumers"]),
        pending=pending,
        lag=lag,
        lag_capped=lag_capped,
        last_delivered_id=last_delivered,
        oldest_pending_id=oldest_id,
        oldest_pending_idle_ms=oldest_idle,
        dead_letters=int(await redis.xlen(dead_letter_stream(stream, name))),
    )
