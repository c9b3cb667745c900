"""orderStatusChanged over a real WebSocket (graphql-transport-ws), fanned out through Redis."""

from __future__ import annotations

from typing import Any

from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from subgraphs.orders.status_stream import stream_key
from tests.orders.conftest import ADMIN, ALICE, BOB, OrdersInstance
from tests.orders.helpers import payment_failed, payment_processed, place_order, publish
from tests.orders.queries import CANCEL, FULFILL, SUBSCRIBE
from tests.orders.ws import TransportWsClient, transport_ws


def event_of(payload: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in payload, payload
    event: dict[str, Any] = payload["data"]["orderStatusChanged"]
    return event


async def test_current_status_then_changes_in_order_then_completion(orders: OrdersInstance, redis_url: str) -> None:
    order = await place_order(orders, "live-1")
    async with transport_ws(orders.ws_url, ALICE) as ws:
        op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"]})
        first = event_of(await ws.next_payload(op))
        assert first["eventId"] == "1" and first["status"] == "AWAITING_PAYMENT" and first["previousStatus"] is None
        assert first["order"] == {"id": order["id"], "status": "AWAITING_PAYMENT"}

        await publish(redis_url, payment_processed(order))
        paid = event_of(await ws.next_payload(op))
        assert (paid["eventId"], paid["previousStatus"], paid["status"]) == ("2", "AWAITING_PAYMENT", "PAID")
        assert paid["reason"].startswith("payment ")

        body = await orders.gql(FULFILL, {"id": order["id"]}, ADMIN)
        assert body["data"]["fulfillOrder"]["__typename"] == "OrderTransitioned"
        done = event_of(await ws.next_payload(op))
        assert (done["eventId"], done["status"], done["order"]["status"]) == ("3", "FULFILLED", "FULFILLED")
        assert await ws.receive() == {"id": op, "type": "complete"}


async def test_replay_after_an_event_id_then_live(orders: OrdersInstance) -> None:
    order = await place_order(orders, "live-replay")
    paid = payment_processed(order)
    await orders.services.consumer.handlers[paid.type](paid)
    async with transport_ws(orders.ws_url, ALICE) as ws:
        op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"], "after": "1"})
        replayed = event_of(await ws.next_payload(op))
        assert (replayed["eventId"], replayed["status"]) == ("2", "PAID")
        await orders.gql(FULFILL, {"id": order["id"]}, ADMIN)
        assert event_of(await ws.next_payload(op))["eventId"] == "3"
        assert (await ws.receive())["type"] == "complete"

    async with transport_ws(orders.ws_url, ALICE) as ws:  # a final order replays its history and completes
        op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"], "after": "0"})
        assert [event_of(p)["status"] async for p in ws.events(op)] == ["AWAITING_PAYMENT", "PAID", "FULFILLED"]
        op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"]})
        assert [event_of(p)["eventId"] async for p in ws.events(op)] == ["3"]


async def test_two_orders_instances_share_the_live_stream(orders_factory: Any, redis_url: str) -> None:
    """The subscriber is on instance B; the change happens on instance A (and via a payment event)."""
    async with orders_factory() as a, orders_factory() as b:
        order = await place_order(a, "live-two")
        other = await place_order(a, "live-two-b")
        async with transport_ws(b.ws_url, ALICE) as ws:
            op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"]})
            op_other = await ws.subscribe(SUBSCRIBE, {"orderId": other["id"]})
            initial = [await ws.receive(), await ws.receive()]
            assert {(m["id"], event_of(m["payload"])["orderId"]) for m in initial} == {
                (op, order["id"]), (op_other, other["id"])}
            result = (await a.gql(CANCEL, {"id": order["id"]}, ALICE))["data"]["cancelOrder"]
            assert result["__typename"] == "OrderTransitioned"
            message = await ws.receive()
            assert message["id"] == op and event_of(message["payload"])["status"] == "CANCELLED"
            assert await ws.receive() == {"id": op, "type": "complete"}
            await publish(redis_url, payment_failed(other))
            message = await ws.receive()
            assert message["id"] == op_other and event_of(message["payload"])["status"] == "CANCELLED"


async def test_a_change_lost_on_the_way_to_redis_is_read_from_mongo(orders: OrdersInstance) -> None:
    order = await place_order(orders, "live-lost")
    async with transport_ws(orders.ws_url, ALICE) as ws:
        op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"]})
        assert event_of(await ws.next_payload(op))["eventId"] == "1"

        async def lost(_: Any) -> None:  # the process "died" between the Mongo update and the XADD
            return None

        orders.services.lifecycle.stream.append = lost  # type: ignore[method-assign, assignment]
        paid = payment_processed(order)
        await orders.services.consumer.handlers[paid.type](paid)
        event = event_of(await ws.next_payload(op, within=10))
        assert (event["eventId"], event["status"]) == ("2", "PAID")


async def test_only_the_customer_or_an_admin_may_subscribe(orders: OrdersInstance) -> None:
    order = await place_order(orders, "live-auth")
    async with transport_ws(orders.ws_url, BOB) as ws:
        op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"]})
        await expect_error(ws, op, "FORBIDDEN")
    async with transport_ws(orders.ws_url) as ws:
        op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"]})
        await expect_error(ws, op, "UNAUTHENTICATED")
    async with transport_ws(orders.ws_url, ALICE) as ws:
        for variables, code in (({"orderId": "nope"}, "BAD_USER_INPUT"),
                                ({"orderId": order["id"], "after": "x1"}, "BAD_USER_INPUT"),
                                ({"orderId": "00000000-0000-5000-8000-000000000000"}, "NOT_FOUND")):
            op = await ws.subscribe(SUBSCRIBE, variables)
            await expect_error(ws, op, code)
    async with transport_ws(orders.ws_url, ADMIN) as ws:
        op = await ws.subscribe(SUBSCRIBE, {"orderId": order["id"]})
        assert event_of(await ws.next_payload(op))["status"] == "AWAITING_PAYMENT"


async def expect_error(ws: TransportWsClient, operation_id: str, code: str) -> None:
    """A refused subscription answers its error (as `next` with errors, then `complete`, or as `error`)."""
    message = await ws.receive()
    assert message["id"] == operation_id, message
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert [e["extensions"]["code"] for e in errors] == [code], message
    if message["type"] == "next":
        assert await ws.receive() == {"id": operation_id, "type": "complete"}


async def test_gql_client_over_websockets(orders: OrdersInstance) -> None:
    order = await place_order(orders, "live-gql")
    transport = WebsocketsTransport(url=orders.ws_url, init_payload=ALICE,
                                    subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    async with Client(transport=transport) as session:
        request = gql(SUBSCRIBE)
        request.variable_values = {"orderId": order["id"]}
        subscription = session.subscribe(request)
        first = await anext(subscription)
        assert first["orderStatusChanged"]["status"] == "AWAITING_PAYMENT"
        await orders.gql(CANCEL, {"id": order["id"]}, ALICE)
        second = await anext(subscription)
        assert second["orderStatusChanged"]["status"] == "CANCELLED"
        assert [item async for item in subscription] == []


async def test_the_status_stream_is_keyed_by_version(orders: OrdersInstance) -> None:
    order = await place_order(orders, "live-key")
    await orders.gql(CANCEL, {"id": order["id"]}, ALICE)
    entries = await orders.services.runtime.redis.xrange(stream_key(order["id"]))
    assert [(entry_id, fields["status"]) for entry_id, fields in entries] == [
        ("1-0", "AWAITING_PAYMENT"), ("2-0", "CANCELLED")]
    assert 0 < await orders.services.runtime.redis.ttl(stream_key(order["id"])) <= 24 * 3600

