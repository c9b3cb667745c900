"""The checkout saga up to AWAITING_PAYMENT, with orders and a products service over HTTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from subgraphs.kit.events import EVENTS_STREAM
from subgraphs.kit.events.envelope import Event
from subgraphs.kit.events.types import OrderCreated
from subgraphs.orders.domain import RequestedLine, order_id_for
from subgraphs.orders.products_client import NotHeld
from tests.orders.conftest import ALICE, BOB, OrdersInstance
from tests.orders.fake_products import ProductsState
from tests.orders.queries import PLACE_ORDER, cart_input, error_codes, order_input
from tests.support.servers import wait_for
from tests.support.tokens import bearer

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


async def place(orders: OrdersInstance, input: dict[str, Any], key: str, headers: dict[str, str] = ALICE
                ) -> dict[str, Any]:
    body = await orders.gql(PLACE_ORDER, {"input": input, "key": key}, headers)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["placeOrder"]
    return result


async def published_events(redis_url: str, event_type: str) -> list[Event]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        entries = await client.xrange(EVENTS_STREAM)
    finally:
        await client.aclose()
    events = [Event.from_json(fields["event"]) for _, fields in entries]
    return [event for event in events if event.type == event_type]


async def test_places_an_order_priced_by_products_and_publishes_order_created(
    orders: OrdersInstance, products_state: ProductsState, redis_url: str
) -> None:
    result = await place(orders, order_input(("TEE-M", 2), ("MUG-1", 1)), "key-1", bearer(
        "alice", email="alice@example.com"))
    assert result["__typename"] == "OrderPlaced" and result["replayed"] is False
    order = result["order"]
    assert order["id"] == order_id_for("alice", "key-1")
    assert order["number"].startswith("SO-") and len(order["number"]) == 9
    assert order["status"] == "AWAITING_PAYMENT"
    assert order["customer"] == {"id": "alice"}
    lines = [(ln["sku"], ln["quantity"], ln["unitPrice"]["amount"], ln["lineTotal"]["amount"]) for ln in order["lines"]]
    assert lines == [("MUG-1", 1, 850, 850), ("TEE-M", 2, 1999, 3998)]
    assert order["lines"][1]["product"] == {"id": "prod-TEE", "name": "Product TEE"}
    assert order["total"] == {"amount": 4848, "currency": "EUR"} == order["subtotal"]
    assert order["timeline"][0]["from"] is None and order["timeline"][0]["to"] == "AWAITING_PAYMENT"
    assert order["paymentDueAt"] is not None
    assert products_state.reserved_for(order["id"])
    assert products_state.variants["TEE-M"].reserved == 2

    async def created() -> list[Event]:
        return await published_events(redis_url, "order.created")

    [event] = await wait_for(created, message="order.created on the bus")
    data = OrderCreated.from_event(event)
    assert (data.order_id, data.order_number, data.user_id) == (order["id"], order["number"], "alice")
    assert (data.total_amount, data.currency) == (4848, "EUR")
    assert (data.payment_provider, data.payment_token) == ("card", "4242424242424242")
    assert data.customer_email == "alice@example.com"
    assert {line["sku"] for line in data.lines} == {"TEE-M", "MUG-1"}
    stored = await orders.services.store.orders.find_one({"_id": order["id"]})
    assert stored["outbox"][0]["published"] is True


async def test_order_numbers_increase(orders: OrdersInstance) -> None:
    first = await place(orders, order_input(("TEE-M", 1)), "n-1")
    second = await place(orders, order_input(("TEE-M", 1)), "n-2", BOB)
    assert int(second["order"]["number"][3:]) == int(first["order"]["number"][3:]) + 1


async def test_same_key_same_input_returns_the_same_order(orders: OrdersInstance,
                                                          products_state: ProductsState) -> None:
    first = await place(orders, order_input(("TEE-M", 2)), "retry-key")
    again = await place(orders, order_input(("TEE-M", 2)), "retry-key")
    assert again["__typename"] == "OrderPlaced" and again["replayed"] is True
    assert again["order"]["id"] == first["order"]["id"] and again["order"]["number"] == first["order"]["number"]
    assert products_state.variants["TEE-M"].reserved == 2
    assert await orders.services.store.orders.count_documents({}) == 1


async def test_same_key_with_another_input_is_refused(orders: OrdersInstance, products_state: ProductsState) -> None:
    await place(orders, order_input(("TEE-M", 2)), "reused")
    for different in (order_input(("TEE-M", 3)), order_input(("TEE-M", 2), token="5555555555554444"),
                      cart_input()):
        result = await place(orders, different, "reused")
        assert result == {"__typename": "IdempotencyKeyReused", "idempotencyKey": "reused",
                          "message": result["message"]}
    assert products_state.variants["TEE-M"].reserved == 2
    assert await orders.services.store.orders.count_documents({}) == 1


async def test_the_same_key_of_another_user_is_another_order(orders: OrdersInstance) -> None:
    mine = await place(orders, order_input(("TEE-M", 1)), "shared-key")
    theirs = await place(orders, order_input(("MUG-1", 1)), "shared-key", BOB)
    assert mine["order"]["id"] != theirs["order"]["id"]


async def test_concurrent_retries_of_one_key_make_one_order(orders: OrdersInstance,
                                                            products_state: ProductsState) -> None:
    results = await asyncio.gather(*(place(orders, order_input(("TEE-M", 1)), "burst") for _ in range(8)))
    assert {r["order"]["id"] for r in results} == {order_id_for("alice", "burst")}
    assert await orders.services.store.orders.count_documents({}) == 1
    assert products_state.variants["TEE-M"].reserved == 1


async def test_from_cart_orders_the_cart_and_clears_it(orders: OrdersInstance, products_state: ProductsState) -> None:
    products_state.carts["alice"] = [("CAP-L", 2), ("MUG-1", 1)]
    result = await place(orders, cart_input(), "cart-1")
    assert result["__typename"] == "OrderPlaced"
    assert {(ln["sku"], ln["quantity"]) for ln in result["order"]["lines"]} == {("CAP-L", 2), ("MUG-1", 1)}
    assert result["order"]["paymentProvider"] == "WALLET"
    assert "alice" not in products_state.carts
    again = await place(orders, cart_input(), "cart-1")
    assert again["replayed"] is True and again["order"]["id"] == result["order"]["id"]


async def test_empty_cart_and_empty_lines_are_empty_orders(orders: OrdersInstance,
                                                           products_state: ProductsState) -> None:
    assert (await place(orders, cart_input(), "empty-cart"))["__typename"] == "EmptyOrder"
    assert (await place(orders, order_input(), "empty-lines"))["__typename"] == "EmptyOrder"
    assert products_state.calls.get("reserveStock", 0) == 0
    assert await orders.services.store.orders.count_documents({}) == 0


async def test_out_of_stock_reserves_and_stores_nothing(orders: OrdersInstance,
                                                        products_state: ProductsState) -> None:
    result = await place(orders, order_input(("TEE-M", 1), ("CAP-L", 4)), "too-many")
    assert result == {"__typename": "InsufficientStock", "sku": "CAP-L", "requested": 4, "available": 3}
    assert products_state.variants["TEE-M"].reserved == 0 and products_state.variants["CAP-L"].reserved == 0
    assert await orders.services.store.orders.count_documents({}) == 0
    assert await orders.services.store.checkouts.count_documents({}) == 0
    # the key is not burnt by a failure: the corrected order goes through with it
    fixed = await place(orders, order_input(("TEE-M", 1), ("CAP-L", 3)), "too-many")
    assert fixed["__typename"] == "OrderPlaced"


async def test_unknown_variant_reserves_and_stores_nothing(orders: OrdersInstance,
                                                           products_state: ProductsState) -> None:
    result = await place(orders, order_input(("TEE-M", 1), ("NOPE-1", 1)), "unknown")
    assert result == {"__typename": "UnknownVariant", "sku": "NOPE-1"}
    assert products_state.variants["TEE-M"].reserved == 0
    assert await orders.services.store.orders.count_documents({}) == 0


async def test_repeated_skus_are_merged(orders: OrdersInstance, products_state: ProductsState) -> None:
    result = await place(orders, order_input(("MUG-1", 1), ("MUG-1", 2)), "merged")
    assert [(ln["sku"], ln["quantity"]) for ln in result["order"]["lines"]] == [("MUG-1", 3)]
    assert products_state.variants["MUG-1"].reserved == 3


async def test_products_down_is_service_unavailable_and_stores_nothing(orders_factory: Any) -> None:
    async with orders_factory(products="http://127.0.0.1:9/graphql") as orders:
        body = await orders.gql(PLACE_ORDER, {"input": order_input(("TEE-M", 1)), "key": "down"}, ALICE)
        assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
        assert "products" in body["errors"][0]["message"]
        assert await orders.services.store.orders.count_documents({}) == 0


async def test_products_failing_is_service_unavailable(orders: OrdersInstance, products_state: ProductsState) -> None:
    products_state.failing = True
    body = await orders.gql(PLACE_ORDER, {"input": order_input(("TEE-M", 1)), "key": "503"}, ALICE)
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
    assert await orders.services.store.orders.count_documents({}) == 0
    products_state.failing = False
    assert (await place(orders, order_input(("TEE-M", 1)), "503"))["__typename"] == "OrderPlaced"


async def test_a_stale_checkout_that_never_became_an_order_releases_its_stock(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    """A process that died after reserving: the sweep releases the hold once the attempt is stale."""
    services = orders.services
    order_id = order_id_for("alice", "crashed")
    attempt = await services.store.begin_checkout(order_id, "alice", "fp")
    outcome = await services.products.reserve(order_id, [RequestedLine("CAP-L", 2)], attempt.number)
    assert products_state.variants["CAP-L"].reserved == 2 and outcome
    assert await services.sweeps.release_stale_checkouts() == 0  # not stale yet
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    await services.store.checkouts.update_one({"_id": order_id}, {"$set": {"touched_at": long_ago}})
    assert await services.sweeps.release_stale_checkouts() == 1
    assert products_state.variants["CAP-L"].reserved == 0
    assert await services.store.checkouts.count_documents({}) == 0
    # The swept attempt's reserve, arriving late, holds nothing; a retry of the request does.
    late = await services.products.reserve(order_id, [RequestedLine("CAP-L", 2)], attempt.number)
    assert isinstance(late, NotHeld) and late.resumable and products_state.variants["CAP-L"].reserved == 0


async def test_a_retry_after_the_sweep_reserves_afresh(orders: OrdersInstance, products_state: ProductsState) -> None:
    order_id = order_id_for("alice", "swept")
    attempt = await orders.services.store.begin_checkout(order_id, "alice", "fp")
    await orders.services.products.reserve(order_id, [RequestedLine("CAP-L", 2)], attempt.number)
    await orders.services.store.checkouts.update_one({"_id": order_id}, {"$set": {"touched_at": LONG_AGO}})
    assert await orders.services.sweeps.release_stale_checkouts() == 1
    result = await place(orders, order_input(("CAP-L", 2)), "swept")
    assert result["__typename"] == "OrderPlaced" and result["replayed"] is False
    assert products_state.reservations[order_id].state == "reserved" and products_state.available("CAP-L") == 1
    assert products_state.reservations[order_id].attempt == 2  # above the swept attempt


async def test_a_reservation_products_will_not_hold_for_an_unknown_order_is_not_an_order(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    """products answers a reservation released for good (only a cancelled order's are): no order is stored."""
    order_id = order_id_for("alice", "final")
    attempt = await orders.services.store.begin_checkout(order_id, "alice", "fp")
    await orders.services.products.reserve(order_id, [RequestedLine("CAP-L", 1)], attempt.number)
    await orders.services.products.release(order_id)
    await orders.services.store.end_checkout(order_id)
    body = await orders.gql(PLACE_ORDER, {"input": order_input(("CAP-L", 1)), "key": "final"}, ALICE)
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
    assert await orders.services.store.orders.count_documents({}) == 0
    assert products_state.available("CAP-L") == 3


BAD_INPUTS = [
    (order_input(("TEE-M", 0)), "k", "input.lines.0.quantity"),
    (order_input(("TEE-M", -3)), "k", "input.lines.0.quantity"),
    (order_input(("TEE-M", 10**6)), "k", "input.lines.0.quantity"),
    (order_input(("", 1)), "k", "input.lines.0.sku"),
    (order_input((" TEE-M", 1)), "k", "input.lines.0.sku"),
    (order_input(("X" * 65, 1)), "k", "input.lines.0.sku"),
    (order_input(*[(f"S-{i}", 1) for i in range(101)]), "k", "input.lines"),
    (order_input(("TEE-M", 1)), "", "idempotencyKey"),
    (order_input(("TEE-M", 1)), "k" * 256, "idempotencyKey"),
    (order_input(("TEE-M", 1), token=""), "k", "input.payment.token"),
    ({"payment": {"provider": "CARD", "token": "t"}}, "k", "input"),
    ({**order_input(("TEE-M", 1)), "fromCart": True}, "k", "input"),
]


@pytest.mark.parametrize(("input", "key", "argument"), BAD_INPUTS)
async def test_bad_input_is_bad_user_input(orders: OrdersInstance, products_state: ProductsState,
                                           input: dict[str, Any], key: str, argument: str) -> None:
    body = await orders.gql(PLACE_ORDER, {"input": input, "key": key}, ALICE)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["argument"] == argument
    assert products_state.calls.get("reserveStock", 0) == 0


async def test_schema_level_bad_input_is_a_validation_error(orders: OrdersInstance) -> None:
    body = await orders.gql(PLACE_ORDER, {"input": {"lines": [{"sku": "A", "quantity": "x"}],
                                                    "payment": {"provider": "CASH", "token": "t"}}, "key": "k"}, ALICE)
    assert body["data"] is None and body["errors"]


async def test_place_order_needs_a_customer_token(orders: OrdersInstance, products_state: ProductsState) -> None:
    variables = {"input": order_input(("TEE-M", 1)), "key": "auth"}
    assert error_codes(await orders.gql(PLACE_ORDER, variables)) == ["UNAUTHENTICATED"]
    assert error_codes(await orders.gql(PLACE_ORDER, variables, {"Authorization": "Bearer nope"})) == [
        "UNAUTHENTICATED"]
    assert error_codes(await orders.gql(PLACE_ORDER, variables, bearer("service:payments"))) == ["FORBIDDEN"]
    assert products_state.calls.get("reserveStock", 0) == 0


async def test_order_created_payload_round_trips(orders: OrdersInstance, redis_url: str) -> None:
    await place(orders, order_input(("CAP-L", 1)), "payload")

    async def created() -> list[Event]:
        return await published_events(redis_url, "order.created")

    [event] = await wait_for(created)
    assert orjson.loads(event.to_json())["data"]["lines"][0]["unit_price"] == 1500
