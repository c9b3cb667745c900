"""GraphQL over SSE (graphql-sse distinct connections mode), over a fake executor."""

from __future__ import annotations

import json
from typing import Any

import httpx

from gateway.subscriptions import OperationError

from .support import eventually, fake_gateway

SSE = {"Accept": "text/event-stream"}


async def read_events(response: httpx.Response, limit: int = 100) -> list[tuple[str, Any]]:
    """Parse the stream until `complete` (or `limit` events): [(event, data)]."""
    events: list[tuple[str, Any]] = []
    name, data = None, []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data.append(line.split(":", 1)[1].strip())
        elif line == "" and name:
            body = "\n".join(data)
            events.append((name, json.loads(body) if body else None))
            if name == "complete" or len(events) >= limit:
                break
            name, data = None, []
    return events


def http_url(ws_url: str) -> str:
    return ws_url.replace("ws://", "http://")


async def test_post_query_gives_next_then_complete() -> None:
    async with fake_gateway() as (url, _executor, _), httpx.AsyncClient(timeout=10) as client:
        body = {"query": "{ x }", "variables": {"a": 1}}
        headers = {**SSE, "Authorization": "Bearer sse"}
        async with client.stream("POST", http_url(url), json=body, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = await read_events(response)
    assert events == [("next", {"data": {"echo": {"a": 1}, "auth": "Bearer sse"}}), ("complete", None)]


async def test_get_with_query_parameters() -> None:
    async with fake_gateway() as (url, _executor, _), httpx.AsyncClient(timeout=10) as client:
        params = {"query": "{ x }", "variables": json.dumps({"b": 2})}
        async with client.stream("GET", http_url(url), params=params, headers=SSE) as response:
            events = await read_events(response)
    assert events[0] == ("next", {"data": {"echo": {"b": 2}, "auth": None}})


async def test_validation_errors_arrive_in_the_accepted_stream() -> None:
    async with fake_gateway() as (url, _executor, _), httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", http_url(url), json={"query": "{ bad"}, headers=SSE) as response:
            assert response.status_code == 200
            events = await read_events(response)
        assert events[0][0] == "next" and events[0][1]["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        assert events[-1] == ("complete", None)
        async with client.stream("POST", http_url(url), content=b"{not json", headers=SSE) as response:
            events = await read_events(response)
        assert events[0][1]["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_subscription_events_and_upstream_error() -> None:
    async with fake_gateway() as (url, executor, _), httpx.AsyncClient(timeout=10) as client:
        body = {"query": "subscription { ticks }"}
        async with client.stream("POST", http_url(url), json=body, headers=SSE) as response:
            await eventually(lambda: executor.streams, "subscription to start")
            stream = executor.streams[0]
            stream.push({"data": {"ticks": 1}})
            stream.push({"data": {"ticks": 2}})
            stream.push(OperationError.single("subgraph closed the subscription", "SUBREQUEST_HTTP_ERROR"))
            events = await read_events(response)
    assert events == [
        ("next", {"data": {"ticks": 1}}),
        ("next", {"data": {"ticks": 2}}),
        ("next", {"errors": [{"message": "subgraph closed the subscription",
                              "extensions": {"code": "SUBREQUEST_HTTP_ERROR"}}]}),
        ("complete", None),
    ]
    assert stream.closed


async def test_client_disconnect_closes_the_subscription() -> None:
    async with fake_gateway() as (url, executor, realtime), httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", http_url(url), json={"query": "subscription { t }"}, headers=SSE) as resp:
            await eventually(lambda: executor.streams, "subscription to start")
            executor.streams[0].push({"data": {"t": 1}})
            assert (await read_events(resp, limit=1)) == [("next", {"data": {"t": 1}})]
            assert realtime.limiter.active == 1
        await eventually(lambda: executor.streams[0].closed, "stream closed after the client left")
        await eventually(lambda: realtime.limiter.active == 0, "SSE connection released")


async def test_connection_limit_applies_to_sse() -> None:
    async with (
        fake_gateway(max_connections=1) as (url, executor, _),
        httpx.AsyncClient(timeout=10) as client,
        client.stream("POST", http_url(url), json={"query": "subscription { t }"}, headers=SSE),
    ):
        await eventually(lambda: executor.streams, "first subscription")
        async with client.stream("POST", http_url(url), json={"query": "{ x }"}, headers=SSE) as second:
            events = await read_events(second)
    assert events[0][1]["errors"][0]["extensions"]["code"] == "TOO_MANY_CONNECTIONS"
    assert events[-1] == ("complete", None)


async def test_keepalive_comments_while_idle() -> None:
    async with (
        fake_gateway(sse_keepalive_interval=0.05) as (url, _executor, _),
        httpx.AsyncClient(timeout=10) as client,
        client.stream("POST", http_url(url), json={"query": "subscription { t }"}, headers=SSE) as response,
    ):
        assert await anext(response.aiter_lines()) == ":"
