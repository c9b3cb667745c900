"""The saga against the real products service: reservation, pricing, cart, commit/release, the race."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.orders.conftest import ALICE, BOB, OrdersInstance
from tests.orders.helpers import payment_failed, payment_processed, stored, wait_status, wait_stock
from tests.orders.queries import PLACE_ORDER, cart_input, order_input
from tests.orders.real_products import RealProducts
from tests.support.tokens import bearer


async def place(orders: OrdersInstance, input: dict[str, object], key: str,
                headers: dict[str, str] = ALICE) -> dict[str, object]:
    body = await orders.gql(PLACE_ORDER, {"input": input, "key": key}, headers)
    assert "errors" not in body, body
    result: dict[str, object] = body["data"]["placeOrder"]
    return result


async def test_order_priced_and_reserved_by_products_then_paid(
    orders_with_real_products: OrdersInstance, real_products: RealProducts, redis_url: str
) -> None:
    orders = orders_with_real_products
    product_id = await real_products.create_product("Trail Mug", ("MUG-RED", 1250, 5), ("MUG-BLUE", 1300, 2))
    result = await place(orders, order_input(("MUG-RED", 2), ("MUG-BLUE", 1)), "real-1")
    assert result["__typename"] == "OrderPlaced", result
    order = result["order"]
    assert isinstance(order, dict)
    assert order["total"] == {"amount": 2 * 1250 + 1300, "currency": "EUR"}
    assert {(ln["sku"], ln["productName"], ln["product"]["id"]) for ln in order["lines"]} == {
        ("MUG-RED", "Trail Mug", product_id), ("MUG-BLUE", "Trail Mug", product_id)}
    assert await real_products.stock("MUG-RED") == {"onHand": 5, "reserved": 2, "available": 3}

    again = await place(orders, order_input(("MUG-RED", 2), ("MUG-BLUE", 1)), "real-1")
    assert again["replayed"] is True
    assert (await place(orders, order_input(("MUG-RED", 1)), "real-1"))["__typename"] == "IdempotencyKeyReused"
    assert await real_products.stock("MUG-RED") == {"onHand": 5, "reserved": 2, "available": 3}

    event = payment_processed(order)
    await orders.services.consumer.handlers[event.type](event)
    await wait_stock(orders, order["id"], "committed")
    assert await real_products.stock("MUG-RED") == {"onHand": 3, "reserved": 0, "available": 3}
    assert await real_products.stock("MUG-BLUE") == {"onHand": 1, "reserved": 0, "available": 1}


async def test_failed_payment_releases_the_reservation_in_products(
    orders_with_real_products: OrdersInstance, real_products: RealProducts
) -> None:
    orders = orders_with_real_products
    await real_products.create_product("Lamp", ("LAMP-1", 4500, 3))
    result = await place(orders, order_input(("LAMP-1", 3)), "real-fail")
    order = result["order"]
    assert isinstance(order, dict)
    assert (await real_products.stock("LAMP-1"))["available"] == 0
    failure = payment_failed(order)
    handler = orders.services.consumer.handlers[failure.type]
    await handler(failure)
    await handler(payment_failed(order))
    await wait_status(orders, order["id"], "CANCELLED")
    await wait_stock(orders, order["id"], "released")
    assert await real_products.stock("LAMP-1") == {"onHand": 3, "reserved": 0, "available": 3}
    assert (await stored(orders, order["id"]))["version"] == 2


async def test_typed_failures_leave_nothing_reserved_in_products(
    orders_with_real_products: OrdersInstance, real_products: RealProducts
) -> None:
    orders = orders_with_real_products
    await real_products.create_product("Kettle", ("KET-1", 3000, 2), ("KET-2", 3100, 9))
    short = await place(orders, order_input(("KET-2", 4), ("KET-1", 3)), "real-short")
    assert short == {"__typename": "InsufficientStock", "sku": "KET-1", "requested": 3, "available": 2}
    unknown = await place(orders, order_input(("KET-2", 1), ("KET-404", 1)), "real-unknown")
    assert unknown == {"__typename": "UnknownVariant", "sku": "KET-404"}
    assert (await real_products.stock("KET-2"))["reserved"] == 0
    assert await orders.services.store.orders.count_documents({}) == 0


async def test_order_from_the_cart_clears_it(orders_with_real_products: OrdersInstance,
                                             real_products: RealProducts) -> None:
    orders = orders_with_real_products
    await real_products.create_product("Hoodie", ("HOOD-M", 5900, 10))
    await real_products.add_to_cart(BOB, "HOOD-M", 2)
    result = await place(orders, cart_input(), "real-cart", BOB)
    assert result["__typename"] == "OrderPlaced", result
    order = result["order"]
    assert isinstance(order, dict)
    assert [(ln["sku"], ln["quantity"]) for ln in order["lines"]] == [("HOOD-M", 2)]
    assert await real_products.cart(BOB) == []
    assert (await real_products.stock("HOOD-M"))["reserved"] == 2
    assert (await place(orders, cart_input(), "real-cart-empty", BOB))["__typename"] == "EmptyOrder"


async def test_fifty_customers_race_for_the_last_ten_units(orders_with_real_products: OrdersInstance,
                                                           real_products: RealProducts) -> None:
    orders = orders_with_real_products
    await real_products.create_product("Limited Print", ("PRINT-LTD", 9900, 10))

    async def buy(customer: int) -> str:
        result = await place(orders, order_input(("PRINT-LTD", 1)), f"ltd-{customer}", bearer(f"fan-{customer}"))
        return str(result["__typename"])

    outcomes = Counter(await asyncio.gather(*(buy(i) for i in range(50))))
    assert outcomes == {"OrderPlaced": 10, "InsufficientStock": 40}
    assert await real_products.stock("PRINT-LTD") == {"onHand": 10, "reserved": 10, "available": 0}
    assert await orders.services.store.orders.count_documents({"lines.sku": "PRINT-LTD"}) == 10
    assert await orders.services.store.checkouts.count_documents({}) == 0


async def test_a_sku_products_does_not_know_leaves_no_attempt(orders_with_real_products: OrdersInstance) -> None:
    orders = orders_with_real_products
    result = await place(orders, order_input(("NOT A SKU", 1)), "real-bad")
    assert result == {"__typename": "UnknownVariant", "sku": "NOT A SKU"}
    assert await orders.services.store.checkouts.count_documents({}) == 0
    assert await orders.services.store.orders.count_documents({}) == 0
