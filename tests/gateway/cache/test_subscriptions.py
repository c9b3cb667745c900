"""With the cache on, a subscription's per-event entity fetches still reach the subgraphs every time,
while the same fields read by a query come from the cache (real Strawberry subgraphs, real Redis)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from gateway.config import CacheSettings

from ..subscriptions.fixtures import BROKER
from ..subscriptions.support import eventually, federated_stack, init, open_ws, recv, send
from .hinting import hinting

STATUS = """subscription($id: ID!) {
  orderStatusChanged(orderId: $id) { eventId order { lines { product { name } } } } }"""
ORDER = '{ order(id: "o1") { number lines { product { name } } payments { status } } }'


async def test_subscription_events_are_never_served_from_the_cache(redis_url: str) -> None:
    posts: Counter[str] = Counter()

    def hinted(name: str, app: Any) -> Any:
        def count(_payload: Any) -> str:
            posts[name] += 1
            return "public, max-age=60"

        return hinting(app, count)

    cache = CacheSettings(enabled=True, redis_url=redis_url)
    async with federated_stack(gateway_settings={"cache": cache}, wrap_http=hinted) as stack:
        async with httpx.AsyncClient(timeout=10) as client:
            first = (await client.post(stack.graphql_url, json={"query": ORDER})).json()
            assert first["data"]["order"]["lines"][0]["product"]["name"] == "Red shirt"
            seen = sum(posts.values())
            assert (await client.post(stack.graphql_url, json={"query": ORDER})).json() == first
            assert sum(posts.values()) == seen  # the query's second read came from the cache

        async with await open_ws(stack.ws_url) as ws:
            await init(ws)
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": STATUS, "variables": {"id": "o1"}}})
            await eventually(lambda: BROKER.subscribers("order:o1") == 1, "the upstream subscription")
            for event_id in (1, 2):
                before = posts["products"]
                BROKER.publish("order:o1", {"eventId": event_id, "status": "PAID"})
                message = await recv(ws)
                assert message["payload"]["data"]["orderStatusChanged"]["order"]["lines"][0]["product"] == {
                    "name": "Red shirt"}
                assert posts["products"] == before + 1  # enriched by its subgraph, not the cache
            await send(ws, {"id": "1", "type": "complete"})
            await eventually(lambda: BROKER.subscribers("order:o1") == 0, "upstream completed")
