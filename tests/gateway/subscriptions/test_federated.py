"""Subscriptions through the core gateway to Strawberry subgraphs: entity enrichment per event,
auth forwarding, shared upstreams, upstream failures and restarts, and a third-party client."""

from __future__ import annotations

import asyncio

import httpx
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from tests.support.tokens import bearer

from .fixtures import BROKER, subgraph_app
from .support import (
    LEGACY_WS,
    closed_with,
    eventually,
    federated_stack,
    init,
    open_ws,
    recv,
    recv_skipping,
    send,
)
from .test_sse import SSE, read_events

STATUS = """
subscription Status($id: ID!) {
  orderStatusChanged(orderId: $id) {
    eventId
    status
    order { number lines { sku product { name } } payments { status } }
  }
}
"""

ENRICHED_O1 = {
    "number": "A-1001",
    "lines": [{"sku": "sku-1", "product": {"name": "Red shirt"}}, {"sku": "sku-2", "product": {"name": "Blue socks"}}],
    "payments": [{"status": "CAPTURED"}],
}

# The gateway verifies tokens before subscribing, so they are real (one per subject, reused).
TOKENS = {name: bearer(name)["Authorization"] for name in ('alice', 'gql', 'other', 'same')}


def subscribe(op_id: str, query: str, variables: dict | None = None) -> dict:
    return {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}


async def test_each_event_is_enriched_from_other_subgraphs() -> None:
    async with federated_stack() as stack, await open_ws(stack.ws_url) as ws:
        await init(ws)
        await send(ws, subscribe("1", STATUS, {"id": "o1"}))
        await eventually(lambda: BROKER.subscribers("order:o1") == 1, "the upstream subscription")
        for event_id, status in ((1, "PAID"), (2, "FULFILLED")):
            BROKER.publish("order:o1", {"eventId": event_id, "status": status})
            message = await recv(ws)
            assert message["type"] == "next", message
            assert message["payload"] == {
                "data": {"orderStatusChanged": {"eventId": event_id, "status": status, "order": ENRICHED_O1}}
            }
        await send(ws, {"id": "1", "type": "complete"})
        await eventually(lambda: BROKER.subscribers("order:o1") == 0, "upstream completed")
        await eventually(lambda: stack.counters["orders"].open == 0, "upstream socket closed")


async def test_upstream_completion_completes_the_client() -> None:
    async with federated_stack() as stack, await open_ws(stack.ws_url) as ws:
        await init(ws)
        await send(ws, subscribe("t", "subscription { ticker(id: \"x\", count: 3) { id n } }"))
        ticks = [await recv(ws) for _ in range(3)]
        assert [t["payload"]["data"]["ticker"]["n"] for t in ticks] == [1, 2, 3]
        assert await recv(ws) == {"id": "t", "type": "complete"}


async def test_queries_and_mutations_over_websocket_use_the_normal_path() -> None:
    async with federated_stack() as stack, await open_ws(stack.ws_url) as ws:
        await init(ws)
        query = "query { order(id: \"o2\") { number payments { status } lines { product { name } } } }"
        await send(ws, subscribe("q", query))
        message = await recv(ws)
        assert message["payload"] == {
            "data": {
                "order": {
                    "number": "A-1002",
                    "payments": [{"status": "DECLINED"}, {"status": "CAPTURED"}],
                    "lines": [{"product": {"name": "Green hat"}}],
                }
            }
        }
        assert await recv(ws) == {"id": "q", "type": "complete"}
        await send(ws, subscribe("v", "subscription { nope }"))
        message = await recv(ws)
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_token_is_forwarded_to_the_subgraph() -> None:
    async with federated_stack() as stack, await open_ws(stack.ws_url) as ws:
        await init(ws, {"Authorization": TOKENS["alice"]})
        await send(ws, subscribe("w", "subscription { whoami }"))
        message = await recv(ws)
        assert message["payload"]["data"]["whoami"] == f"header={TOKENS['alice']};init={TOKENS['alice']}"


async def test_same_operation_and_rights_share_one_upstream() -> None:
    async with federated_stack() as stack:
        orders = stack.counters["orders"]
        async with await open_ws(stack.ws_url) as a, await open_ws(stack.ws_url) as b:
            await init(a, {"Authorization": TOKENS["same"]})
            await init(b, {"Authorization": TOKENS["same"]})
            await send(a, subscribe("1", STATUS, {"id": "o2"}))
            await eventually(lambda: BROKER.subscribers("order:o2") == 1, "first upstream")
            await send(b, subscribe("9", STATUS, {"id": "o2"}))
            await eventually(lambda: stack.hub.subscriber_count(_only_key(stack)) == 2, "second client")
            assert orders.total == 1 and orders.open == 1
            assert BROKER.publish("order:o2", {"eventId": 1, "status": "PAID"}) == 1
            got_a, got_b = await recv(a), await recv(b)
            assert got_a["payload"] == got_b["payload"]
            assert got_a["payload"]["data"]["orderStatusChanged"]["order"]["payments"][0]["status"] == "DECLINED"
            # Other rights: their own upstream.
            async with await open_ws(stack.ws_url) as c:
                await init(c, {"Authorization": TOKENS["other"]})
                await send(c, subscribe("1", STATUS, {"id": "o2"}))
                await eventually(lambda: BROKER.subscribers("order:o2") == 2, "a separate upstream")
                assert orders.total == 2
            await eventually(lambda: BROKER.subscribers("order:o2") == 1, "the other upstream to close")
            await send(a, {"id": "1", "type": "complete"})
            BROKER.publish("order:o2", {"eventId": 2, "status": "FULFILLED"})
            assert (await recv(b))["payload"]["data"]["orderStatusChanged"]["eventId"] == 2
            assert orders.open == 1  # still shared by b
        await eventually(lambda: orders.open == 0, "the upstream to close with the last client")
        assert stack.hub.upstream_count == 0


def _only_key(stack):
    (key,) = stack.hub._entries  # one running upstream
    return key


async def test_upstream_error_ends_the_operation_with_an_error() -> None:
    async with federated_stack() as stack, await open_ws(stack.ws_url) as ws:
        await init(ws)
        await send(ws, subscribe("f", "subscription { failAfter(n: 1) }"))
        assert (await recv(ws))["payload"] == {"data": {"failAfter": 0}}
        message = await recv(ws)
        # Strawberry reports a resolver error as a result with errors, then completes.
        assert message["type"] == "next"
        assert message["payload"]["errors"][0]["message"] == "the ticker broke"
        assert message["payload"]["errors"][0]["extensions"]["service"] == "orders"
        assert await recv(ws) == {"id": "f", "type": "complete"}


async def test_subgraph_restart_ends_clients_with_an_error_and_leaks_nothing() -> None:
    async with federated_stack() as stack:
        tasks_before = len(asyncio.all_tasks())
        port = stack.ports["orders"]
        clients = [await open_ws(stack.ws_url) for _ in range(2)]
        legacy = await open_ws(stack.ws_url, LEGACY_WS)
        try:
            for index, ws in enumerate(clients):
                await init(ws, {"Authorization": bearer(f"user-{index}")["Authorization"]})
                await send(ws, subscribe("s", STATUS, {"id": "o1"}))
            await send(legacy, {"type": "connection_init", "payload": {}})
            await send(legacy, {"id": "l", "type": "start", "payload": {"query": STATUS, "variables": {"id": "o1"}}})
            await eventually(lambda: BROKER.subscribers("order:o1") == 3, "three upstream subscriptions")
            assert stack.counters["orders"].open == 3
            await stack.stop_subgraph("orders")
            for ws in clients:
                message = await recv(ws)
                assert message["type"] == "error", message
                assert "orders" in message["payload"][0]["message"]
            message = await recv_skipping(legacy, "connection_ack", "ka")
            assert message["type"] == "error" and message["id"] == "l"
            assert stack.hub.upstream_count == 0
            # The subgraph comes back: new subscriptions work on the same port.
            await stack.start_subgraph("orders", subgraph_app("orders"), port)
            await send(clients[0], subscribe("again", STATUS, {"id": "o1"}))
            await eventually(lambda: BROKER.subscribers("order:o1") == 1, "the new upstream subscription")
            BROKER.publish("order:o1", {"eventId": 3, "status": "REFUNDED"})
            message = await recv(clients[0])
            assert message["payload"]["data"]["orderStatusChanged"]["order"] == ENRICHED_O1
        finally:
            for ws in (*clients, legacy):
                await ws.close()
        await eventually(lambda: stack.realtime.limiter.active == 0, "client connections released")
        await eventually(lambda: stack.counters["orders"].open == 0, "upstream sockets closed")
        await eventually(lambda: stack.hub.upstream_count == 0, "hub empty")
        await eventually(lambda: len(asyncio.all_tasks()) <= tasks_before, "no leaked tasks")


async def test_sse_subscription_through_the_gateway() -> None:
    async with federated_stack() as stack, httpx.AsyncClient(timeout=10) as client:
        body = {"query": STATUS, "variables": {"id": "o1"}}
        async with client.stream("POST", stack.graphql_url, json=body, headers=SSE) as response:
            await eventually(lambda: BROKER.subscribers("order:o1") == 1, "the upstream subscription")
            BROKER.publish("order:o1", {"eventId": 1, "status": "PAID"})
            events = await read_events(response, limit=1)
        assert events == [
            ("next", {"data": {"orderStatusChanged": {"eventId": 1, "status": "PAID", "order": ENRICHED_O1}}})
        ]
        await eventually(lambda: BROKER.subscribers("order:o1") == 0, "upstream closed after the client left")


async def test_gql_client_subscribes_through_the_gateway() -> None:
    async with federated_stack() as stack:
        transport = WebsocketsTransport(url=stack.ws_url, init_payload={"Authorization": TOKENS["gql"]})
        async with Client(transport=transport) as session:
            received = [
                result
                async for result in session.subscribe(gql("subscription { ticker(id: \"g\", count: 2) { id n } }"))
            ]
            assert received == [{"ticker": {"id": "g", "n": 1}}, {"ticker": {"id": "g", "n": 2}}]
            who = await anext(aiter(session.subscribe(gql("subscription { whoami }"))))
            assert who == {"whoami": f"header={TOKENS['gql']};init={TOKENS['gql']}"}
            result = await session.execute(gql("query { order(id: \"o1\") { payments { status } } }"))
            assert result == {"order": {"payments": [{"status": "CAPTURED"}]}}


async def test_legacy_protocol_subscription_through_the_gateway() -> None:
    async with federated_stack() as stack, await open_ws(stack.ws_url, LEGACY_WS) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})
        await send(ws, {"id": "t", "type": "start", "payload": {"query": "subscription { ticker(id: \"l\") { n } }"}})
        messages = [await recv_skipping(ws, "connection_ack", "ka") for _ in range(4)]
        assert [m["type"] for m in messages] == ["data", "data", "data", "complete"]
        assert messages[2]["payload"] == {"data": {"ticker": {"n": 3}}}


async def test_http_post_still_works_behind_the_realtime_layer() -> None:
    async with federated_stack() as stack, httpx.AsyncClient(timeout=10) as client:
        response = await client.post(stack.graphql_url, json={"query": "{ order(id: \"o1\") { number } }"})
        assert response.json() == {"data": {"order": {"number": "A-1001"}}}
        async with await open_ws(stack.ws_url, protocol="unknown-protocol") as ws:
            code, _ = await closed_with(ws)
            assert code == 4406
