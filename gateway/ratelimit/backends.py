"""GCRA buckets checked atomically for several limits at once: in Redis (shared by every gateway
instance, one round trip) or in process.

GCRA keeps one number per bucket, the theoretical arrival time (TAT). A request is allowed when
TAT + interval - period <= now; then TAT becomes max(TAT, now) + interval. Either every bucket of a
request takes the request or none does, so a refused request costs no budget.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from ..redis_client import RedisClient, RedisReplyError

# KEYS: the buckets; ARGV: interval_us, period_us per bucket. Returns {refused index (0: allowed), wait_us}.
# Microsecond integers keep Lua's doubles exact; the server clock is the one clock all instances share.
GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local worst_i, worst = 0, 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local wait = new_tat - period - now
  if wait > worst then worst_i, worst = i, wait end
  tats[i] = new_tat
end
if worst_i > 0 then return {worst_i, worst} end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, string.format('%d', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1)
end
return {0, 0}
"""


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    interval: float  # seconds
    period: float  # seconds


@dataclass(frozen=True, slots=True)
class Verdict:
    """`refused` is the index of the bucket that refused (None: allowed); `retry_after` in seconds."""

    refused: int | None
    retry_after: float = 0.0


ALLOWED = Verdict(None)


class RedisBuckets:
    """Buckets in Redis: one EVALSHA per request on the gateway's lean client (gateway.redis_client),
    and one EVAL when the server lacks the script (after a restart or a SCRIPT FLUSH)."""

    def __init__(self, redis_url: str, timeout: float = 1.0) -> None:
        self.redis = RedisClient(redis_url, timeout)
        self._sha = hashlib.sha1(GCRA_SCRIPT.encode()).hexdigest()

    async def take(self, buckets: Sequence[Bucket]) -> Verdict:
        args: list[int] = []
        for bucket in buckets:
            args += (max(1, round(bucket.interval * 1e6)), max(1, round(bucket.period * 1e6)))
        keys = [b.key for b in buckets]
        try:
            [(index, wait)] = await self.redis.execute(("EVALSHA", self._sha, len(keys), *keys, *args))
        except RedisReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            [(index, wait)] = await self.redis.execute(("EVAL", GCRA_SCRIPT, len(keys), *keys, *args))
        if int(index) == 0:
            return ALLOWED
        return Verdict(int(index) - 1, int(wait) / 1e6)

    async def aclose(self) -> None:
        await self.redis.aclose()


class LocalBuckets:
    """The same algorithm in this process only (no Redis): at most `max_keys` buckets, oldest evicted."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.tats: OrderedDict[str, float] = OrderedDict()
        self.max_keys = max_keys

    async def take(self, buckets: Sequence[Bucket]) -> Verdict:
        return self.take_now(buckets, time.monotonic())

    def take_now(self, buckets: Sequence[Bucket], now: float) -> Verdict:
        worst, worst_wait = -1, 0.0
        new_tats = []
        for i, bucket in enumerate(buckets):
            tat = max(self.tats.get(bucket.key, now), now)
            new_tat = tat + bucket.interval
            wait = new_tat - bucket.period - now
            if wait > worst_wait:
                worst, worst_wait = i, wait
            new_tats.append(new_tat)
        if worst >= 0:
            return Verdict(worst, worst_wait)
        for bucket, new_tat in zip(buckets, new_tats, strict=True):
            self.tats[bucket.key] = new_tat
            self.tats.move_to_end(bucket.key)
        while len(self.tats) > self.max_keys:
            self.tats.popitem(last=False)
        return ALLOWED

    async def aclose(self) -> None:
        self.tats.clear()


def retry_after_header(seconds: float) -> int:
    """Whole seconds a client should wait (at least 1), as Retry-After wants."""
    return max(1, math.ceil(seconds))
