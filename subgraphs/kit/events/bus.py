"""Publishing to the Redis Stream that carries every event.

Publishing is idempotent per event id for a window (a marker key set in the same Lua script as the
XADD), so an outbox relay that crashed after publishing and publishes again adds nothing.

Publishing never trims: entries leave the stream only once every consumer group has acknowledged them
(`retention.py`), so a group that lags loses nothing.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from subgraphs.kit.events.envelope import Event

EVENTS_STREAM = "events"
PUBLISHED_MARKER_TTL_SECONDS = 7 * 24 * 3600

_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', 'type', ARGV[2], 'event', ARGV[3])
end
return false
"""


class EventBus:
    def __init__(self, redis: aioredis.Redis, stream: str = EVENTS_STREAM) -> None:
        self.redis = redis
        self.stream = stream
        self._publish_once = redis.register_script(_PUBLISH_ONCE)

    async def publish(self, event: Event) -> str | None:
        """Append the event; returns its stream entry id, or None when it was already published."""
        entry_id = await self._publish_once(
            keys=[f"{self.stream}:published:{event.id}", self.stream],
            args=[PUBLISHED_MARKER_TTL_SECONDS, event.type, event.to_json()],
        )
        return str(entry_id) if entry_id else None
