"""Trimming the event stream without losing what a consumer group has not acknowledged.

Publishing no longer trims by length (`XADD MAXLEN ~ 100000` dropped entries whatever the groups had
read, so a lagging group lost events without an error). The outbox relays run `StreamRetention` after
publishing instead:

- a group's floor is its oldest pending entry or, with nothing pending, the entry after the last one
  delivered to it; everything below the lowest floor of all groups was delivered to and acknowledged by
  every group, and only that is removed (`XTRIM MINID`);
- the newest `keep_recent` entries always stay, acknowledged or not (for operators, replays and a
  group created later with history);
- a stream with no consumer group is not trimmed;
- a group that is `lag_alert` entries or more behind (undelivered + pending) is logged as an alert on
  each run (`stream_stats` shows it at any time);
- `max_length` is the safety net against a group that is gone for good: the oldest entries above it
  that some group has not acknowledged are first copied to that group's dead-letter stream with the
  reason, acknowledged for it and skipped by its read position, and only then trimmed.

So nothing leaves the stream before every group has handled it or dead-lettered it. One race remains:
a group created (with history, `start_id="0"`) at the instant of a trim misses what that trim removed,
as it would miss what any earlier trim removed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from subgraphs.kit.events.bus import EVENTS_STREAM
from subgraphs.kit.events.ids import before, min_id, next_id
from subgraphs.kit.events.stats import (
    GroupStats,
    StreamStats,
    dead_letter_minid,
    dead_letter_stream,
    stream_stats,
)

log = logging.getLogger(__name__)

# At most this many entries above `max_length` are dead-lettered and trimmed per run.
CAP_BATCH = 1000

# The id of the oldest of the newest ARGV[1] entries (walked in Redis; only the id comes back).
_OLDEST_OF_NEWEST = """
local entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])
return entries[#entries][1]
"""


@dataclass(frozen=True)
class RetentionPolicy:
    max_length: int = 1_000_000
    keep_recent: int = 10_000
    lag_alert: int = 10_000
    interval_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.keep_recent <= self.max_length:
            raise ValueError("EVENTS_KEEP_RECENT must be between 0 and EVENTS_MAX_LENGTH")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionPolicy:
        """`EVENTS_MAX_LENGTH`, `EVENTS_KEEP_RECENT`, `EVENTS_LAG_ALERT`, `EVENTS_TRIM_INTERVAL` (seconds)."""
        env = os.environ if env is None else env
        return cls(
            max_length=int(env.get("EVENTS_MAX_LENGTH", "1000000")),
            keep_recent=int(env.get("EVENTS_KEEP_RECENT", "10000")),
            lag_alert=int(env.get("EVENTS_LAG_ALERT", "10000")),
            interval_seconds=float(env.get("EVENTS_TRIM_INTERVAL", "10")),
        )


@dataclass(frozen=True)
class TrimReport:
    trimmed: int = 0
    floor: str | None = None  # entries below this id were removed
    dead_lettered: dict[str, int] = field(default_factory=dict)  # group -> entries copied before trimming
    lagging: list[str] = field(default_factory=list)


def group_floor(group: GroupStats) -> str:
    """The lowest entry id this group may still need."""
    if group.oldest_pending_id is not None:
        return group.oldest_pending_id
    return next_id(group.last_delivered_id)


class StreamRetention:
    def __init__(
        self,
        redis: aioredis.Redis,
        stream: str = EVENTS_STREAM,
        policy: RetentionPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.policy = policy or RetentionPolicy.from_env()
        self._clock = clock
        self._last_run: float | None = None

    async def maybe_run(self) -> TrimReport | None:
        """`run_once` at most every `interval_seconds`; a failure is logged and tried again next time."""
        now = self._clock()
        if self._last_run is not None and now - self._last_run < self.policy.interval_seconds:
            return None
        self._last_run = now
        try:
            return await self.run_once()
        except Exception:
            log.warning("trimming %s failed; trying again later", self.stream, exc_info=True)
            return None

    async def run_once(self) -> TrimReport:
        stats = await self._stats()
        if not stats.groups:
            return TrimReport()
        lagging = self._alert(stats)
        dead_lettered: dict[str, int] = {}
        if stats.length > self.policy.max_length:
            dead_lettered = await self._dead_letter_over_cap(stats)
            stats = await self._stats()
        if stats.length <= self.policy.keep_recent:
            return TrimReport(0, None, dead_lettered, lagging)
        floor = min_id([group_floor(group) for group in stats.groups.values()])
        if self.policy.keep_recent > 0:
            kept = str(await self.redis.eval(_OLDEST_OF_NEWEST, 1, self.stream, str(self.policy.keep_recent)))  # type: ignore[misc]
            floor = min_id([floor, kept])
        trimmed = int(await self.redis.xtrim(self.stream, minid=floor, approximate=False))
        if trimmed:
            log.info("trimmed %d entries below %s from %s (acknowledged by every group)", trimmed, floor, self.stream)
        return TrimReport(trimmed, floor, dead_lettered, lagging)

    async def _stats(self) -> StreamStats:
        return await stream_stats(self.redis, self.stream, lag_count_limit=self.policy.lag_alert)

    def _alert(self, stats: StreamStats) -> list[str]:
        lagging = []
        for group in stats.groups.values():
            behind = group.lag + group.pending
            if behind >= self.policy.lag_alert:
                lagging.append(group.name)
                log.error(
                    "ALERT: consumer group %s is %s%d entries behind on %s (undelivered %d, pending %d, oldest "
                    "pending idle %s ms, dead letters %d)", group.name, ">=" if group.lag_capped else "", behind,
                    self.stream, group.lag, group.pending, group.oldest_pending_idle_ms, group.dead_letters,
                )
        return lagging

    async def _dead_letter_over_cap(self, stats: StreamStats) -> dict[str, int]:
        """Copy the oldest entries above `max_length` to the dead-letter stream of every group that has
        not acknowledged them, acknowledge them for it and move its read position past them."""
        excess = min(stats.length - self.policy.max_length, CAP_BATCH)
        entries = await self.redis.xrange(self.stream, "-", "+", count=excess)
        if not entries:
            return {}
        last = entries[-1][0]
        dead_lettered: dict[str, int] = {}
        for group in stats.groups.values():
            if not before(group_floor(group), next_id(last)):
                continue  # it acknowledged all of them
            rows = await self.redis.xpending_range(self.stream, group.name, min="-", max=last, count=len(entries))
            deliveries = {row["message_id"]: int(row["times_delivered"]) for row in rows}
            victims = [(entry_id, fields) for entry_id, fields in entries
                       if entry_id in deliveries or before(group.last_delivered_id, entry_id)]
            reason = (f"trimmed unacknowledged: {self.stream} exceeded {self.policy.max_length} entries while "
                      f"group {group.name} was {group.lag + group.pending} behind")
            async with self.redis.pipeline(transaction=False) as pipe:
                for entry_id, fields in victims:
                    pipe.xadd(dead_letter_stream(self.stream, group.name), {
                        **fields, "error": reason, "deliveries": str(deliveries.get(entry_id, 0)),
                        "original_id": entry_id,
                    }, minid=dead_letter_minid(), approximate=False)
                if deliveries:
                    pipe.xack(self.stream, group.name, *deliveries)
                await pipe.execute()
            if before(group.last_delivered_id, last):
                await self.redis.xgroup_setid(self.stream, group.name, last)
            dead_lettered[group.name] = len(victims)
            log.error("ALERT: moved %d unacknowledged entries of group %s to %s before trimming: %s",
                      len(victims), group.name, dead_letter_stream(self.stream, group.name), reason)
        return dead_lettered
