"""graphql-transport-ws protocol rules, against the real-time layer over a fake executor."""

from __future__ import annotations

from gateway.subscriptions import OperationError

from .support import closed_with, eventually, fake_gateway, init, open_ws, recv, send

SUB = {"query": "subscription { ticks }"}


async def test_ack_ping_pong_and_query_over_websocket() -> None:
    async with fake_gateway() as (url, _executor, _), await open_ws(url) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        await init(ws)
        await send(ws, {"type": "ping"})
        assert await recv(ws) == {"type": "pong"}
        await send(ws, {"type": "pong"})  # unsolicited pongs are allowed
        await send(ws, {"id": "q1", "type": "subscribe", "payload": {"query": "{ x }", "variables": {"a": 1}}})
        assert await recv(ws) == {
            "id": "q1",
            "type": "next",
            "payload": {"data": {"echo": {"a": 1}, "auth": None}},
        }
        assert await recv(ws) == {"id": "q1", "type": "complete"}


async def test_token_from_init_payload_reaches_the_executor() -> None:
    async with fake_gateway() as (url, _executor, _):
        async with await open_ws(url, additional_headers={"Authorization": "Bearer header"}) as ws:
            await init(ws, {"Authorization": "Bearer from-init"})
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": "{ x }"}})
            assert (await recv(ws))["payload"]["data"]["auth"] == "Bearer from-init"
        async with await open_ws(url, additional_headers={"Authorization": "Bearer header"}) as ws:
            await init(ws)
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": "{ x }"}})
            assert (await recv(ws))["payload"]["data"]["auth"] == "Bearer header"
        async with await open_ws(url) as ws:
            await init(ws, {"token": "raw-token"})
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": "{ x }"}})
            assert (await recv(ws))["payload"]["data"]["auth"] == "Bearer raw-token"


async def test_connection_init_timeout_closes_4408() -> None:
    async with fake_gateway(connection_init_timeout=0.2) as (url, _, _), await open_ws(url) as ws:
        assert await closed_with(ws) == (4408, "Connection initialisation timeout")


async def test_second_init_closes_4429() -> None:
    async with fake_gateway() as (url, _, _), await open_ws(url) as ws:
        await init(ws)
        await send(ws, {"type": "connection_init"})
        assert await closed_with(ws) == (4429, "Too many initialisation requests")


async def test_subscribe_before_ack_closes_4401() -> None:
    async with fake_gateway() as (url, _, _), await open_ws(url) as ws:
        await send(ws, {"id": "1", "type": "subscribe", "payload": SUB})
        assert await closed_with(ws) == (4401, "Unauthorized")


async def test_duplicate_operation_id_closes_4409() -> None:
    async with fake_gateway() as (url, executor, _):
        async with await open_ws(url) as ws:
            await init(ws)
            await send(ws, {"id": "dup", "type": "subscribe", "payload": SUB})
            await eventually(lambda: executor.streams, "first subscription to start")
            await send(ws, {"id": "dup", "type": "subscribe", "payload": SUB})
            assert await closed_with(ws) == (4409, "Subscriber for dup already exists")
        await eventually(lambda: executor.streams[0].closed, "the running stream to be closed")


async def test_invalid_messages_close_4400() -> None:
    bad_frames = [
        "not json",
        '"a string"',
        '{"type": "nope"}',
        '{"type": "subscribe", "payload": {"query": "{ x }"}}',
    ]
    async with fake_gateway() as (url, _, _):
        for frame in bad_frames:
            async with await open_ws(url) as ws:
                if "subscribe" in frame:
                    await init(ws)
                await ws.send(frame)
                code, reason = await closed_with(ws)
                assert code == 4400, frame
                assert reason and reason.startswith("Invalid message received"), reason
        async with await open_ws(url) as ws:
            await init(ws)
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"variables": {}}})
            code, _ = await closed_with(ws)
            assert code == 4400


async def test_unknown_subprotocol_closes_4406() -> None:
    async with fake_gateway() as (url, _, _), await open_ws(url, protocol=None) as ws:
        code, _ = await closed_with(ws)
        assert code == 4406


async def test_stream_results_and_complete_from_server() -> None:
    async with fake_gateway() as (url, executor, _), await open_ws(url) as ws:
        await init(ws)
        await send(ws, {"id": "s", "type": "subscribe", "payload": SUB})
        await eventually(lambda: executor.streams, "subscription to start")
        stream = executor.streams[0]
        stream.push({"data": {"ticks": 1}})
        stream.push({"data": {"ticks": 2}})
        assert (await recv(ws))["payload"] == {"data": {"ticks": 1}}
        assert (await recv(ws))["payload"] == {"data": {"ticks": 2}}
        stream.push(None)
        assert await recv(ws) == {"id": "s", "type": "complete"}


async def test_complete_from_client_stops_the_stream_and_frees_the_id() -> None:
    async with fake_gateway() as (url, executor, _), await open_ws(url) as ws:
        await init(ws)
        await send(ws, {"id": "s", "type": "subscribe", "payload": SUB})
        await eventually(lambda: executor.streams, "subscription to start")
        await send(ws, {"id": "s", "type": "complete"})
        await eventually(lambda: executor.streams[0].closed, "stream closed after client complete")
        await send(ws, {"id": "s", "type": "subscribe", "payload": SUB})  # the id is free again
        await eventually(lambda: len(executor.streams) == 2, "second subscription")
        executor.streams[1].push({"data": {"ticks": 7}})
        assert (await recv(ws))["payload"] == {"data": {"ticks": 7}}


async def test_errors_before_and_during_execution_are_error_messages() -> None:
    async with fake_gateway() as (url, executor, _), await open_ws(url) as ws:
        await init(ws)
        await send(ws, {"id": "bad", "type": "subscribe", "payload": {"query": "{ bad"}})
        message = await recv(ws)
        assert message["type"] == "error" and message["id"] == "bad"
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        await send(ws, {"id": "s", "type": "subscribe", "payload": SUB})
        await eventually(lambda: executor.streams, "subscription to start")
        executor.streams[0].push(OperationError.single("upstream went away", "SUBREQUEST_HTTP_ERROR"))
        message = await recv(ws)
        assert message == {
            "id": "s",
            "type": "error",
            "payload": [{"message": "upstream went away", "extensions": {"code": "SUBREQUEST_HTTP_ERROR"}}],
        }
        await eventually(lambda: executor.streams[0].closed, "stream closed after its error")


async def test_subscriptions_per_connection_limit() -> None:
    async with fake_gateway(max_subscriptions_per_connection=2) as (url, executor, _), await open_ws(url) as ws:
        await init(ws)
        for op in ("a", "b", "c"):
            await send(ws, {"id": op, "type": "subscribe", "payload": SUB})
        message = await recv(ws)
        assert message["type"] == "error" and message["id"] == "c"
        assert message["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        assert "at most 2" in message["payload"][0]["message"]
        await eventually(lambda: len(executor.streams) == 2, "two subscriptions")
        executor.streams[0].push({"data": {"ticks": 1}})
        assert (await recv(ws))["id"] == "a"  # the others keep running


async def test_total_connection_limit_refuses_with_1013() -> None:
    async with fake_gateway(max_connections=1) as (url, _, realtime):
        async with await open_ws(url) as first:
            await init(first)
            async with await open_ws(url) as second:
                code, reason = await closed_with(second)
                assert code == 1013
                assert reason and "Too many connections" in reason
        await eventually(lambda: realtime.limiter.active == 0, "the connection slot to be released")
        async with await open_ws(url) as third:
            await init(third)


async def test_disconnect_closes_every_running_stream() -> None:
    async with fake_gateway() as (url, executor, realtime):
        async with await open_ws(url) as ws:
            await init(ws)
            for op in ("a", "b"):
                await send(ws, {"id": op, "type": "subscribe", "payload": SUB})
            await eventually(lambda: len(executor.streams) == 2, "two subscriptions")
        await eventually(lambda: all(s.closed for s in executor.streams), "streams closed on disconnect")
        await eventually(lambda: realtime.limiter.active == 0, "connection released")


def test_limits_come_from_the_environment() -> None:
    import pytest

    from gateway.subscriptions import SubscriptionSettings

    settings = SubscriptionSettings.from_env(
        {
            "GATEWAY_MAX_WS_CONNECTIONS": "7",
            "GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION": "3",
            "GATEWAY_WS_CONNECTION_INIT_TIMEOUT": "2.5",
        }
    )
    assert (settings.max_connections, settings.max_subscriptions_per_connection) == (7, 3)
    assert settings.connection_init_timeout == 2.5
    assert SubscriptionSettings.from_env({}) == SubscriptionSettings()
    with pytest.raises(ValueError, match="GATEWAY_MAX_WS_CONNECTIONS"):
        SubscriptionSettings.from_env({"GATEWAY_MAX_WS_CONNECTIONS": "many"})
