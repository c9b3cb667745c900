"""The legacy `graphql-ws` subprotocol (subscriptions-transport-ws), over a fake executor."""

from __future__ import annotations

from .support import LEGACY_WS, closed_with, eventually, fake_gateway, open_ws, recv, recv_skipping, send

SUB = {"query": "subscription { ticks }"}


async def _init(ws, payload=None) -> None:
    await send(ws, {"type": "connection_init", "payload": payload or {}})
    assert (await recv(ws))["type"] == "connection_ack"
    assert (await recv(ws))["type"] == "ka"


async def test_init_ack_keepalive_and_query() -> None:
    async with fake_gateway(keepalive_interval=0.1) as (url, _executor, _), await open_ws(url, LEGACY_WS) as ws:
        assert ws.subprotocol == "graphql-ws"
        await _init(ws, {"authorization": "Bearer legacy"})
        assert (await recv(ws))["type"] == "ka"  # periodic keep-alive
        await send(ws, {"id": "1", "type": "start", "payload": {"query": "{ x }", "variables": {"v": 2}}})
        assert await recv_skipping(ws, "ka") == {
            "id": "1",
            "type": "data",
            "payload": {"data": {"echo": {"v": 2}, "auth": "Bearer legacy"}},
        }
        assert await recv_skipping(ws, "ka") == {"id": "1", "type": "complete"}


async def test_subscription_data_stop_and_terminate() -> None:
    async with fake_gateway() as (url, executor, realtime):
        async with await open_ws(url, LEGACY_WS) as ws:
            await _init(ws)
            await send(ws, {"id": "s", "type": "start", "payload": SUB})
            await eventually(lambda: executor.streams, "subscription to start")
            executor.streams[0].push({"data": {"ticks": 1}})
            assert await recv_skipping(ws, "ka") == {"id": "s", "type": "data", "payload": {"data": {"ticks": 1}}}
            await send(ws, {"id": "s", "type": "stop"})
            assert await recv_skipping(ws, "ka") == {"id": "s", "type": "complete"}
            assert executor.streams[0].closed
            await send(ws, {"type": "connection_terminate"})
            code, _ = await closed_with(ws)
            assert code == 1000
        await eventually(lambda: realtime.limiter.active == 0, "connection released")


async def test_errors_and_malformed_messages() -> None:
    async with fake_gateway() as (url, _executor, _), await open_ws(url, LEGACY_WS) as ws:
        await send(ws, {"id": "early", "type": "start", "payload": SUB})
        message = await recv(ws)
        assert message["type"] == "error" and message["id"] == "early"
        assert message["payload"]["extensions"]["code"] == "UNAUTHENTICATED"
        await _init(ws)
        await ws.send("not json")
        assert (await recv_skipping(ws, "ka"))["type"] == "connection_error"
        await send(ws, {"type": "bogus"})
        assert (await recv_skipping(ws, "ka"))["type"] == "connection_error"
        await send(ws, {"type": "connection_init"})
        message = await recv_skipping(ws, "ka")
        assert message == {"type": "connection_error", "payload": {"message": "Too many initialisation requests"}}
        await send(ws, {"id": "bad", "type": "start", "payload": {"query": "{ bad"}})
        message = await recv_skipping(ws, "ka")
        assert message["type"] == "error" and message["id"] == "bad"
        assert message["payload"]["message"].startswith("Syntax Error")
        # the connection survives all of the above
        await send(ws, {"id": "ok", "type": "start", "payload": {"query": "{ x }"}})
        assert (await recv_skipping(ws, "ka"))["type"] == "data"


async def test_start_with_a_running_id_replaces_the_operation() -> None:
    async with fake_gateway() as (url, executor, _), await open_ws(url, LEGACY_WS) as ws:
        await _init(ws)
        await send(ws, {"id": "s", "type": "start", "payload": SUB})
        await eventually(lambda: executor.streams, "first subscription")
        await send(ws, {"id": "s", "type": "start", "payload": SUB})
        await eventually(lambda: len(executor.streams) == 2, "second subscription")
        assert executor.streams[0].closed
        executor.streams[1].push({"data": {"ticks": 5}})
        assert (await recv_skipping(ws, "ka"))["payload"] == {"data": {"ticks": 5}}
