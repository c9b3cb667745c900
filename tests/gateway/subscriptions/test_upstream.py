"""The upstream graphql-transport-ws client and the hub, against small raw WebSocket servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.server import ServerConnection, serve

from gateway.subscriptions import OperationError, SubscriptionHub
from gateway.subscriptions.upstream import UpstreamRequest, subscribe_upstream, websocket_url

Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def raw_subgraph(handler: Handler) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, subprotocols=["graphql-transport-ws"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}/graphql"


async def _handshake(ws: ServerConnection) -> dict:
    init = json.loads(await ws.recv())
    assert init["type"] == "connection_init"
    await ws.send(json.dumps({"type": "connection_ack"}))
    subscribe = json.loads(await ws.recv())
    assert subscribe["type"] == "subscribe"
    return subscribe


def request_for(url: str, authorization: str | None = None) -> UpstreamRequest:
    headers = {"authorization": authorization} if authorization else {}
    return UpstreamRequest.build("svc", url, "subscription { t }", {"b": 1, "a": 2}, headers=headers)


def test_websocket_url_and_canonical_request() -> None:
    assert websocket_url("https://x.example/graphql?a=1") == "wss://x.example/graphql?a=1"
    assert websocket_url("http://127.0.0.1:4001/graphql") == "ws://127.0.0.1:4001/graphql"
    one = UpstreamRequest.build("s", "u", "q", {"a": 1, "b": 2}, headers={"Authorization": "T"})
    two = UpstreamRequest.build("s", "u", "q", {"b": 2, "a": 1}, headers={"authorization": "T"})
    assert one == two and hash(one) == hash(two)
    assert one.init_payload() == {"Authorization": "T"}


def test_per_request_identity_headers_ride_along_without_splitting_requests() -> None:
    def request(request_id: str, **extra: str) -> UpstreamRequest:
        headers = {"Authorization": "T", "X-Request-ID": request_id, "traceparent": f"00-{request_id}", **extra}
        return UpstreamRequest.build("s", "u", "q", {}, headers=headers)

    first, second = request("1" * 32), request("2" * 32, tracestate="k=v")
    assert first == second and hash(first) == hash(second)
    identity = {"x-request-id": "1" * 32, "traceparent": "00-" + "1" * 32}
    assert first.handshake_headers() == {"Authorization": "T", **identity}
    assert second.handshake_headers()["tracestate"] == "k=v"
    assert request("1", **{"x-tenant": "a"}) != request("1", **{"x-tenant": "b"})  # a FORWARD_HEADERS one splits


async def test_results_then_error_message_raises_operation_error() -> None:
    seen: dict = {}

    async def handler(ws: ServerConnection) -> None:
        subscribe = await _handshake(ws)
        seen["headers"] = ws.request.headers.get("authorization") if ws.request else None
        seen["variables"] = subscribe["payload"]["variables"]
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}
        await ws.send(json.dumps({"type": "next", "id": subscribe["id"], "payload": {"data": {"t": 1}}}))
        await ws.send(json.dumps({"type": "error", "id": subscribe["id"], "payload": [{"message": "denied"}]}))
        await ws.wait_closed()

    async with raw_subgraph(handler) as url:
        results = subscribe_upstream(request_for(url, "Bearer z"))
        assert await anext(results) == {"data": {"t": 1}}
        with pytest.raises(OperationError) as error:
            await anext(results)
        assert error.value.errors == [{"message": "denied"}]
    assert seen == {"headers": "Bearer z", "variables": {"a": 2, "b": 1}}


async def test_unreachable_and_silent_subgraphs_are_operation_errors() -> None:
    async def silent(ws: ServerConnection) -> None:
        await ws.wait_closed()  # never acknowledges

    async with raw_subgraph(silent) as url:
        with pytest.raises(OperationError, match="did not acknowledge"):
            await anext(subscribe_upstream(request_for(url), connect_timeout=0.2))
    with pytest.raises(OperationError, match="could not open a subscription"):
        await anext(subscribe_upstream(request_for(url)))


async def test_closing_the_client_sends_complete_upstream() -> None:
    got: list[dict] = []
    arrived = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        subscribe = await _handshake(ws)
        await ws.send(json.dumps({"type": "next", "id": subscribe["id"], "payload": {"data": {"t": 1}}}))
        async for raw in ws:
            got.append(json.loads(raw))
            arrived.set()

    async with raw_subgraph(handler) as url:
        results = subscribe_upstream(request_for(url))
        assert await anext(results) == {"data": {"t": 1}}
        await results.aclose()
        async with asyncio.timeout(5):
            await arrived.wait()
    assert got and got[0]["type"] == "complete"


async def test_hub_cuts_off_a_client_that_falls_behind() -> None:
    gate: asyncio.Queue[int] = asyncio.Queue()

    async def source(_request: UpstreamRequest) -> AsyncIterator[dict]:
        while True:
            yield {"data": {"n": await gate.get()}}

    hub = SubscriptionHub(source, max_pending=2)  # type: ignore[arg-type]
    request = request_for("http://unused")
    slow = hub.join(request)
    fast = hub.join(request)
    assert hub.upstream_count == 1 and hub.subscriber_count(request) == 2
    for n in range(4):
        gate.put_nowait(n)
        assert await anext(fast) == {"data": {"n": n}}  # fast keeps up, slow reads nothing
    assert hub.subscriber_count(request) == 1
    assert [await anext(slow), await anext(slow)] == [{"data": {"n": 0}}, {"data": {"n": 1}}]
    with pytest.raises(OperationError, match="events were pending"):
        await anext(slow)
    await slow.aclose()
    await fast.aclose()
    assert hub.upstream_count == 0
    await hub.aclose()
