"""Telling the gateway's cache about changes that do not pass through the gateway.

A write that happened elsewhere (another service calling this one directly, a background job)
publishes an invalidation event on the event stream (:meth:`GatewayCacheFeed.publish`, one XADD,
never a call to the gateway in the write's path). The service's own consumer group hands each event
to the gateway's invalidation endpoint (`POST GATEWAY_CACHE_INVALIDATION_URL`, bearer
`GATEWAY_CACHE_INVALIDATION_TOKEN`); a failed call fails the handler, so the bus retries it
(`claim_idle_ms` apart, `max_deliveries` times, then to the dead-letter stream).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
import redis.asyncio as aioredis

from subgraphs.kit.events.bus import EventBus
from subgraphs.kit.events.consumer import ConsumerConfig, EventConsumer
from subgraphs.kit.events.envelope import Event

log = logging.getLogger(__name__)

EVENT_TYPE = "gateway.cache.invalidate"
# Retried quickly: until the gateway has it, readers may see the old value (up to its max-age).
RETRY_AFTER_MS = 2000


class GatewayInvalidationFailed(Exception):
    """The gateway did not confirm the invalidation (the bus delivers the event again)."""


class GatewayCacheFeed:
    def __init__(self, redis: aioredis.Redis, database: Any, service: str, url: str, token: str,
                 timeout_seconds: float = 5.0) -> None:
        self.service = service
        self.url = url
        self.token = token
        self.bus = EventBus(redis)
        self._http = httpx.AsyncClient(timeout=timeout_seconds)
        self.consumer = EventConsumer(
            redis, database, {EVENT_TYPE: self.handle},
            ConsumerConfig(group=f"{service}-gateway-cache", claim_idle_ms=RETRY_AFTER_MS, start_id="$"),
        )

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
        await self._http.aclose()

    async def publish(self, items: Sequence[dict[str, Any]]) -> None:
        """Queue invalidations of this service's entries (the `subgraph` of each item defaults to it).
        A failure is logged, never raised: the write it follows has happened and stands."""
        items = [{"subgraph": self.service, **item} for item in items]
        event = Event(type=EVENT_TYPE, source=self.service, subject=self.service, data={"items": items})
        try:
            await self.bus.publish(event)
        except Exception as exc:
            log.error("could not queue a gateway cache invalidation (%s: %s); cached entries expire with "
                      "their max-age", type(exc).__name__, exc)

    async def handle(self, event: Event) -> None:
        try:
            response = await self._http.post(
                self.url, json=event.data.get("items", []), headers={"authorization": f"Bearer {self.token}"}
            )
        except httpx.HTTPError as exc:
            raise GatewayInvalidationFailed(f"the gateway is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise GatewayInvalidationFailed(f"the gateway answered {response.status_code}: {response.text[:200]}")
