"""Amounts beyond 32 bits, and the bounds that keep every order answerable (case 9 of the money issue).

With the real products service: the IDR order of 2 x 15,000,000.00 (3,000,000,000 minor units). With the
fake: what products would answer only if it did not bound its prices, and carts beyond the unit limit.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from subgraphs.kit.events import EVENTS_STREAM, Event
from subgraphs.kit.events.types import OrderCreated
from subgraphs.kit.money import MAX_AMOUNT, MAX_UNITS_PER_ORDER
from tests.orders.conftest import ALICE, OrdersInstance
from tests.orders.fake_products import ProductsState
from tests.orders.queries import ORDER, PLACE_ORDER, cart_input, error_codes, order_input
from tests.orders.real_products import RealProducts
from tests.support.servers import wait_for

IDR_PRICE = 1_500_000_000  # 15,000,000.00 IDR
IDR_TOTAL = 3_000_000_000  # beyond GraphQL Int (2^31 - 1)


async def created_events(redis_url: str) -> list[Event]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        entries = await client.xrange(EVENTS_STREAM)
    finally:
        await client.aclose()
    return [e for e in (Event.from_json(fields["event"]) for _, fields in entries) if e.type == OrderCreated.TYPE]


async def test_an_idr_order_beyond_32_bits_is_answered_and_stored_exactly(
    orders_with_real_products: OrdersInstance, real_products: RealProducts, redis_url: str
) -> None:
    orders = orders_with_real_products
    await real_products.create_product("Scooter", ("SCOOT-1", IDR_PRICE, 5), currency="IDR")
    body = await orders.gql(PLACE_ORDER, {"input": order_input(("SCOOT-1", 2)), "key": "idr"}, ALICE)
    assert "errors" not in body, body
    order = body["data"]["placeOrder"]["order"]
    idr = {"amount": IDR_TOTAL, "currency": "IDR"}
    assert (order["subtotal"], order["total"]) == (idr, idr)
    assert [(ln["quantity"], ln["unitPrice"], ln["lineTotal"]) for ln in order["lines"]] == [
        (2, {"amount": IDR_PRICE, "currency": "IDR"}, idr)]
    again = await orders.gql(ORDER, {"id": order["id"]}, ALICE)
    assert again["data"]["order"]["total"] == idr, again
    stored = await orders.services.store.get(order["id"])
    assert stored is not None and (stored["subtotal"], stored["total"]) == (IDR_TOTAL, IDR_TOTAL)
    created = await wait_for(lambda: created_events(redis_url), message="order.created on the bus")
    assert created[0].data["total_amount"] == IDR_TOTAL
    assert await real_products.stock("SCOOT-1") == {"onHand": 5, "reserved": 2, "available": 3}


async def test_a_total_beyond_the_bound_is_refused_before_the_insert_and_its_stock_released(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    """Each unit price fits MinorUnits; twice it does not. Nothing is stored, nothing stays reserved."""
    products_state.add("HUGE-1", price=2**52, stock=5)
    body = await orders.gql(PLACE_ORDER, {"input": order_input(("HUGE-1", 2)), "key": "huge"}, ALICE)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["maximum"] == MAX_AMOUNT
    assert products_state.variants["HUGE-1"].reserved == 0
    assert await orders.services.store.orders.count_documents({}) == 0
    assert await orders.services.store.checkouts.count_documents({}) == 0
    one = await orders.gql(PLACE_ORDER, {"input": order_input(("HUGE-1", 1)), "key": "huge-1"}, ALICE)
    assert one["data"]["placeOrder"]["order"]["total"] == {"amount": 2**52, "currency": "EUR"}, one


async def test_an_order_total_that_only_overflows_in_the_sum_is_refused(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    products_state.add("HALF-A", price=MAX_AMOUNT // 2 + 1, stock=1)
    products_state.add("HALF-B", price=MAX_AMOUNT // 2 + 1, stock=1)
    body = await orders.gql(PLACE_ORDER, {"input": order_input(("HALF-A", 1), ("HALF-B", 1)), "key": "sum"}, ALICE)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert "order total" in body["errors"][0]["message"]
    assert products_state.variants["HALF-A"].reserved == products_state.variants["HALF-B"].reserved == 0
    assert await orders.services.store.orders.count_documents({}) == 0


async def test_a_cart_beyond_the_unit_limit_is_refused_before_anything_is_reserved(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    products_state.add("BOLT-1", price=1, stock=10 * MAX_UNITS_PER_ORDER)
    products_state.carts["alice"] = [("BOLT-1", MAX_UNITS_PER_ORDER), ("TEE-M", 1)]
    body: dict[str, Any] = await orders.gql(PLACE_ORDER, {"input": cart_input(), "key": "bolts"}, ALICE)
    assert error_codes(body) == ["BAD_USER_INPUT"], body
    assert body["errors"][0]["extensions"]["maximum"] == MAX_UNITS_PER_ORDER
    assert products_state.calls.get("reserveStock", 0) == 0
    assert await orders.services.store.orders.count_documents({}) == 0
    assert await orders.services.store.checkouts.count_documents({}) == 0
