"""Per-event leases: within one consumer group, at most one consumer runs an event's handler at a time.

A consumer takes the lease (`SET NX PX`) before it runs a handler and keeps it alive while the handler
runs; another consumer that reclaimed the same entry (it looked idle) finds the lease taken and leaves
the entry alone. The lease expires on its own when its holder dies, by the time the entry is idle
long enough to be reclaimed. Refresh and release only touch a lease the caller still holds.
"""

from __future__ import annotations

import redis.asyncio as aioredis

_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class EventLeases:
    def __init__(self, redis: aioredis.Redis, prefix: str, owner: str, ttl_ms: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.owner = owner
        self.ttl_ms = ttl_ms
        self._refresh = redis.register_script(_REFRESH)
        self._release = redis.register_script(_RELEASE)

    def key(self, event_id: str) -> str:
        return f"{self.prefix}:{event_id}"

    async def acquire(self, event_id: str) -> bool:
        return bool(await self.redis.set(self.key(event_id), self.owner, nx=True, px=self.ttl_ms))

    async def holder(self, event_id: str) -> str | None:
        value = await self.redis.get(self.key(event_id))
        return None if value is None else str(value)

    async def refresh(self, event_id: str) -> bool:
        """Extend the lease; False when it is no longer ours (it expired and someone else took it)."""
        return bool(await self._refresh(keys=[self.key(event_id)], args=[self.owner, self.ttl_ms]))

    async def release(self, event_id: str) -> None:
        await self._release(keys=[self.key(event_id)], args=[self.owner])
