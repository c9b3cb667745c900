"""Shared completion through the gateway to Strawberry subgraphs: the clients of one upstream whose
results cannot differ complete each event once (counted at the entity subgraphs); other rights or
another operation complete on their own; per-request identity headers split nothing; a client that
leaves mid-completion, or an entity fetch that fails, breaks no other client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from tests.support.tokens import bearer

from .fixtures import BROKER, PAYMENTS_GATE
from .support import Stack, eventually, federated_stack, init, open_ws, recv, send
from .test_sse import SSE, read_events

STATUS = """
subscription Status($id: ID!) {
  orderStatusChanged(orderId: $id) {
    eventId
    status
    order { number lines { product { name } } payments { status } viewer }
  }
}
"""
TOKENS = {name: bearer(name)["Authorization"] for name in ("alice", "bob", "same")}
O1_LINES = [{"product": {"name": "Red shirt"}}, {"product": {"name": "Blue socks"}}]


def subscribe(op_id: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}


def status_event(event_id: int, status: str, viewer: str) -> dict[str, Any]:
    order = {"number": "A-1001", "lines": O1_LINES, "payments": [{"status": "CAPTURED"}], "viewer": viewer}
    return {"data": {"orderStatusChanged": {"eventId": event_id, "status": status, "order": order}}}


@asynccontextmanager
async def clients(
    stack: Stack,
    tokens: list[str],
    query: str = STATUS,
    headers: list[dict[str, str]] | None = None,
) -> AsyncIterator[list[ClientConnection]]:
    """One subscribed client per token, subscribed one after the other (so the first opens the upstream)."""
    already = stack.hub_clients()
    async with AsyncExitStack() as exits:
        sockets = []
        for index, token in enumerate(tokens):
            extra = headers[index] if headers else {}
            ws = await exits.enter_async_context(await open_ws(stack.ws_url, additional_headers=extra))
            await init(ws, {"Authorization": token})
            await send(ws, subscribe("s", query, {"id": "o1"}))
            await eventually(lambda n=already + index + 1: stack.hub_clients() == n, f"client {index} subscribed")
            sockets.append(ws)
        yield sockets


async def publish(event_id: int, status: str, sockets: list[ClientConnection]) -> list[dict[str, Any]]:
    BROKER.publish("order:o1", {"eventId": event_id, "status": status})
    messages = [await recv(ws) for ws in sockets]
    assert all(message["type"] == "next" for message in messages), messages
    return [message["payload"] for message in messages]


async def test_clients_with_the_same_rights_complete_each_event_once() -> None:
    async with federated_stack() as stack, clients(stack, [TOKENS["same"]] * 6) as sockets:
        payments, products = stack.counters["payments"], stack.counters["products"]
        fetches = len(payments.posts), len(products.posts)
        for event_id, status in ((1, "PAID"), (2, "PACKED"), (3, "FULFILLED")):
            payloads = await publish(event_id, status, sockets)
            assert payloads == [status_event(event_id, status, TOKENS["same"])] * 6
            # one entity fetch per subgraph and event, for six clients
            assert (len(payments.posts) - fetches[0], len(products.posts) - fetches[1]) == (event_id, event_id)
        assert stack.counters["orders"].total == 1
        (group,) = stack.engine.groups._groups.values()
        assert group.size == 6
        await eventually(lambda: group.remembered == 0, "every member to have taken every event")
    assert len(stack.engine.groups) == 0


async def test_per_request_identity_headers_do_not_split_sharing() -> None:
    identities = [
        {"X-Request-ID": f"client-{i}", "traceparent": f"00-{i + 1:032x}-{i + 1:016x}-01"} for i in range(4)
    ]
    async with federated_stack() as stack, clients(stack, [TOKENS["same"]] * 4, headers=identities) as sockets:
        orders, payments = stack.counters["orders"], stack.counters["payments"]
        assert orders.total == 1  # one upstream for four request ids
        # it carries the identity of the client that opened it
        assert orders.handshakes[0]["x-request-id"] == "client-0"
        assert orders.handshakes[0]["traceparent"] == identities[0]["traceparent"]
        before = len(payments.posts)
        payloads = await publish(1, "PAID", sockets)
        assert payloads == [status_event(1, "PAID", TOKENS["same"])] * 4
        assert len(payments.posts) == before + 1
        fetch = payments.posts[-1]
        # the completion's fetch carries the group's request id, none of a client's
        assert fetch["x-request-id"].startswith("subscription-")
        assert fetch["x-request-id"] not in {i["X-Request-ID"] for i in identities}
        assert fetch.get("traceparent") not in {i["traceparent"] for i in identities}
        assert fetch["authorization"] == TOKENS["same"]


async def test_other_rights_complete_on_their_own_and_see_only_their_own() -> None:
    tokens = [TOKENS["alice"], TOKENS["bob"], TOKENS["alice"]]
    async with federated_stack() as stack, clients(stack, tokens) as sockets:
        payments = stack.counters["payments"]
        assert stack.hub.upstream_count == 2 and len(stack.engine.groups) == 2
        before = len(payments.posts)
        payloads = await publish(1, "PAID", sockets)
        assert payloads == [status_event(1, "PAID", token) for token in tokens]
        seen = sorted(post["authorization"] for post in payments.posts[before:])
        assert seen == sorted([TOKENS["alice"], TOKENS["bob"]])  # one fetch per rights, not per client


async def test_another_operation_on_the_same_upstream_completes_on_its_own() -> None:
    statuses = "subscription($id: ID!) { orderStatusChanged(orderId: $id) { eventId order { payments { status } } } }"
    amounts = "subscription($id: ID!) { orderStatusChanged(orderId: $id) { eventId order { payments { amount } } } }"
    async with (
        federated_stack() as stack,
        clients(stack, [TOKENS["same"]] * 2, statuses) as by_status,
        clients(stack, [TOKENS["same"]] * 2, amounts) as by_amount,
    ):
        assert stack.hub.upstream_count == 1  # the same root fetch: one upstream
        assert len(stack.engine.groups) == 2  # but two shapes: two completions
        before = len(stack.counters["payments"].posts)
        BROKER.publish("order:o1", {"eventId": 7, "status": "PAID"})
        got = [(await recv(ws))["payload"] for ws in (*by_status, *by_amount)]
        order = {"payments": [{"status": "CAPTURED"}]}
        assert got[:2] == [{"data": {"orderStatusChanged": {"eventId": 7, "order": order}}}] * 2
        order = {"payments": [{"amount": 2500}]}
        assert got[2:] == [{"data": {"orderStatusChanged": {"eventId": 7, "order": order}}}] * 2
        assert len(stack.counters["payments"].posts) == before + 2


async def test_a_client_leaving_mid_completion_breaks_no_other() -> None:
    async with federated_stack() as stack:
        payments = stack.counters["payments"]
        # Which member computes an event is not fixed: leaving once as each of two covers the computing one.
        for leaver in (0, 1):
            async with clients(stack, [TOKENS["same"]] * 2) as sockets:
                survivor = sockets[1 - leaver]
                before = len(payments.posts)
                PAYMENTS_GATE.close()
                try:
                    BROKER.publish("order:o1", {"eventId": 1, "status": "PAID"})
                    await eventually(lambda: PAYMENTS_GATE.waiting == 1, "the completion's payments fetch")
                    await sockets[leaver].close()
                    await eventually(lambda: stack.hub_clients() == 1, "the gateway to drop the leaving client")
                finally:
                    PAYMENTS_GATE.open()
                assert (await recv(survivor))["payload"] == status_event(1, "PAID", TOKENS["same"])
                assert len(payments.posts) == before + 1
                BROKER.publish("order:o1", {"eventId": 2, "status": "FULFILLED"})
                assert (await recv(survivor))["payload"] == status_event(2, "FULFILLED", TOKENS["same"])
                assert len(payments.posts) == before + 2
            await eventually(lambda: stack.hub.upstream_count == 0 and len(stack.engine.groups) == 0, "all gone")


async def test_a_failing_entity_fetch_reaches_every_member() -> None:
    async with federated_stack() as stack, clients(stack, [TOKENS["same"]] * 3) as sockets:
        products = stack.counters["products"]
        await stack.stop_subgraph("payments")
        before = len(products.posts)
        payloads = await publish(1, "PAID", sockets)
        assert payloads[0] == payloads[1] == payloads[2]
        errors = payloads[0]["errors"]
        assert errors and {e["extensions"]["code"] for e in errors} == {"SUBREQUEST_HTTP_ERROR"}
        assert {e["extensions"]["service"] for e in errors} == {"payments"}
        assert {tuple(e["path"]) for e in errors} == {
            ("orderStatusChanged", "order", "payments"),
            ("orderStatusChanged", "order", "viewer"),
        }
        assert payloads[0]["data"] is None  # the non-null order and event are null
        assert len(products.posts) == before + 1  # the other entity fetch, once too


async def test_completions_of_one_event_do_not_see_each_other() -> None:
    """Two operations on one upstream complete the same raw event: one's entity data must not
    stand in for the other's failed field (both put theirs under the response key `viewer`)."""
    viewer = "subscription($id: ID!) { orderStatusChanged(orderId: $id) { eventId order { viewer } } }"
    broken = "subscription($id: ID!) { orderStatusChanged(orderId: $id) { eventId order { viewer: broken } } }"
    async with (
        federated_stack() as stack,
        clients(stack, [TOKENS["same"]], viewer) as (sees,),
        clients(stack, [TOKENS["same"]], broken) as (fails,),
    ):
        assert stack.hub.upstream_count == 1
        PAYMENTS_GATE.close()
        try:
            BROKER.publish("order:o1", {"eventId": 1, "status": "PAID"})
            got = (await recv(sees))["payload"]
            assert got == {"data": {"orderStatusChanged": {"eventId": 1, "order": {"viewer": TOKENS["same"]}}}}
            await eventually(lambda: PAYMENTS_GATE.waiting == 1, "the failing fetch")
        finally:
            PAYMENTS_GATE.open()
        failed = (await recv(fails))["payload"]
        assert failed["data"] == {"orderStatusChanged": {"eventId": 1, "order": {"viewer": None}}}
        assert failed["errors"][0]["message"] == "the audit trail is unavailable"


async def test_sse_and_websocket_clients_share_across_transports_and_request_ids() -> None:
    async with (
        federated_stack() as stack,
        clients(stack, [TOKENS["same"]], headers=[{"X-Request-ID": "ws-client"}]) as (ws,),
        httpx.AsyncClient(timeout=10) as http,
    ):
        headers = {**SSE, "Authorization": TOKENS["same"], "X-Request-ID": "sse-client"}
        body = {"query": STATUS, "variables": {"id": "o1"}}
        async with http.stream("POST", stack.graphql_url, json=body, headers=headers) as response:
            await eventually(lambda: stack.hub_clients() == 2, "the SSE client on the same upstream")
            assert stack.hub.upstream_count == 1 and len(stack.engine.groups) == 1
            before = len(stack.counters["payments"].posts)
            BROKER.publish("order:o1", {"eventId": 1, "status": "PAID"})
            expected = status_event(1, "PAID", TOKENS["same"])
            assert (await recv(ws))["payload"] == expected
            assert await read_events(response, limit=1) == [("next", expected)]
            assert len(stack.counters["payments"].posts) == before + 1
