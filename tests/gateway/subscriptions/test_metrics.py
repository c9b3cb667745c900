"""Subscriptions in the gateway's metrics: WebSocket and SSE refusals count in `gateway_refusals_total`
with the reasons HTTP uses, an SSE request is labelled with its operation's name, and a stream that
carried errors has the outcome `error`."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.config import OperationLimits
from tests.support.servers import wait_for

from .fixtures import BROKER
from .support import closed_with, eventually, federated_stack, init, open_ws, recv, send
from .test_federated import STATUS, subscribe
from .test_sse import SSE, read_events

TWO_ALIASES = 'subscription { a: ticker(id: "x") { n } b: ticker(id: "y") { n } }'


async def scrape(client: httpx.AsyncClient, base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get(f"{base_url}/metrics")
    assert response.status_code == 200, response.text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def refusals(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], reason: str) -> float:
    return samples.get(("gateway_refusals_total", (("reason", reason),)), 0.0)


async def test_websocket_refusals_are_counted_with_the_http_reasons() -> None:
    async with (
        federated_stack(metrics=True, limits=OperationLimits(max_aliases=1), max_connections=1,
                        max_subscriptions_per_connection=1) as stack,
        httpx.AsyncClient(timeout=10) as client,
    ):
        before = await scrape(client, stack.base_url)
        async with await open_ws(stack.ws_url) as ws:
            await init(ws, {"Authorization": "Bearer not-a-token"})
            await send(ws, subscribe("bad-token", STATUS, {"id": "o1"}))
            assert (await recv(ws))["type"] == "error"
        async with await open_ws(stack.ws_url) as ws:
            await init(ws)
            await send(ws, {"id": "aliases", "type": "subscribe", "payload": {"query": TWO_ALIASES}})
            refused = await recv(ws)
            assert refused["type"] == "error" and refused["id"] == "aliases", refused
            await send(ws, subscribe("held", STATUS, {"id": "o7"}))
            await eventually(lambda: BROKER.subscribers("order:o7") == 1, "the held subscription")
            await send(ws, subscribe("one-too-many", STATUS, {"id": "o8"}))
            refused = await recv(ws)
            assert refused["type"] == "error", refused
            assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            async with await open_ws(stack.ws_url) as second:  # over max_connections
                assert (await closed_with(second))[0] == 1013
        over_http = await client.post(stack.graphql_url, json={"query": "{ a: __typename b: __typename }"})
        assert over_http.status_code == 400 and "MAX_ALIASES" in over_http.text, over_http.text
        after = await scrape(client, stack.base_url)
    assert refusals(after, "bad_request") - refusals(before, "bad_request") == 1  # the token, as over HTTP
    # aliases (WebSocket and HTTP: a MAX_*_EXCEEDED code is a limit), operations, connections
    assert refusals(after, "limit") - refusals(before, "limit") == 4


async def test_an_sse_request_is_labelled_with_its_operation_name() -> None:
    key = ("gateway_requests_total", (("operation_name", "Ticks"), ("operation_type", "subscription"),
                                      ("outcome", "success")))
    async with federated_stack(metrics=True) as stack, httpx.AsyncClient(timeout=10) as client:
        before = (await scrape(client, stack.base_url)).get(key, 0.0)
        body = {"query": 'subscription Ticks { ticker(id: "t", count: 2) { n } }'}
        async with client.stream("POST", stack.graphql_url, json=body, headers=SSE) as response:
            events = await read_events(response)
        assert [name for name, _ in events] == ["next", "next", "complete"], events

        async def counted() -> bool:
            return (await scrape(client, stack.base_url)).get(key, 0.0) == before + 1

        await wait_for(counted, message="the SSE request counted under its operation name")


async def test_an_sse_stream_that_ends_in_errors_counts_as_an_error() -> None:
    def key(outcome: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        return ("gateway_requests_total", (("operation_name", "Breaks"), ("operation_type", "subscription"),
                                           ("outcome", outcome)))

    async with federated_stack(metrics=True) as stack, httpx.AsyncClient(timeout=10) as client:
        before = await scrape(client, stack.base_url)
        body = {"query": "subscription Breaks { failAfter(n: 1) }"}
        async with client.stream("POST", stack.graphql_url, json=body, headers=SSE) as response:
            events = await read_events(response)
        assert [name for name, _ in events] == ["next", "next", "complete"], events
        assert events[1][1]["errors"], events

        async def counted() -> bool:
            return (await scrape(client, stack.base_url)).get(key("error"), 0.0) == before.get(key("error"), 0.0) + 1

        await wait_for(counted, message="the SSE stream counted with the outcome error")
        assert (await scrape(client, stack.base_url)).get(key("success"), 0.0) == before.get(key("success"), 0.0)
