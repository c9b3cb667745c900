"""Regressions of the retried-checkout oversell: a paid order always has its stock committed.

A products answer lost after products reserved, the stale-checkout sweep, a retry with the same key,
a commit products refuses, and the sweep racing a retry. The interleavings are driven through the
network between orders and products (`ProductsLink`), never by sleeping. The in-process worker is off
so that no cron sweep runs behind the test's back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from subgraphs.orders.domain import RequestedLine, order_id_for
from tests.orders.conftest import ALICE, BOB, OrdersFactory, OrdersInstance
from tests.orders.fake_products import ProductsState
from tests.orders.helpers import bus_events, payment_processed, place_order, stored, wait_status, wait_stock
from tests.orders.products_link import ProductsLink
from tests.orders.queries import PLACE_ORDER, error_codes, order_input
from tests.orders.real_products import RealProducts
from tests.support.servers import wait_for

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
SKU = "SAFE-TEE"


@pytest.fixture
def link() -> ProductsLink:
    return ProductsLink()


@pytest.fixture
async def shop(orders_factory: OrdersFactory, real_products: RealProducts, link: ProductsLink
               ) -> AsyncIterator[OrdersInstance]:
    """orders on the real products, through a link the test can break, with 10 units of SAFE-TEE."""
    await real_products.create_product("Safe Tee", (SKU, 1500, 10))
    async with orders_factory(products=real_products.url, products_transport=link, run_worker=False) as orders:
        yield orders


async def make_stale(orders: OrdersInstance, order_id: str) -> None:
    """The checkout attempt has not been touched for longer than the stale-checkout age."""
    result = await orders.services.store.checkouts.update_one(
        {"_id": order_id}, {"$set": {"created_at": LONG_AGO, "touched_at": LONG_AGO}})
    assert result.matched_count == 1


async def pay(orders: OrdersInstance, order: dict[str, Any]) -> dict[str, Any]:
    event = payment_processed(order)
    await orders.services.consumer.handlers[event.type](event)
    return await wait_status(orders, order["id"], "PAID")


async def lose_the_reserve_answer(orders: OrdersInstance, link: ProductsLink, real_products: RealProducts,
                                  key: str) -> str:
    """placeOrder whose reserve answer is lost after products reserved 2 units; returns the order id."""
    link.lose_answer("OrdersReserveStock")
    body = await orders.gql(PLACE_ORDER, {"input": order_input((SKU, 2)), "key": key}, ALICE)
    assert error_codes(body) == ["SERVICE_UNAVAILABLE"], body
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 2, "available": 8}  # products did it
    return order_id_for("alice", key)


async def test_lost_reserve_answer_then_sweep_then_retry_then_payment_commits_the_stock(
    shop: OrdersInstance, link: ProductsLink, real_products: RealProducts
) -> None:
    """The issue's scenario: the retry used to get OrderPlaced on a RELEASED reservation, and the paid
    2-unit order left onHand at 10."""
    order_id = await lose_the_reserve_answer(shop, link, real_products, "lost-answer")
    await make_stale(shop, order_id)
    assert await shop.services.sweeps.release_stale_checkouts() == 1
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 0, "available": 10}

    order = await place_order(shop, "lost-answer", (SKU, 2))  # the client retries with the same key
    assert order["id"] == order_id and order["status"] == "AWAITING_PAYMENT"
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 2, "available": 8}

    await pay(shop, order)
    await wait_stock(shop, order_id, "committed")
    assert await real_products.stock(SKU) == {"onHand": 8, "reserved": 0, "available": 8}
    assert await shop.services.store.checkouts.count_documents({}) == 0


async def test_the_sweep_racing_a_live_retry_does_not_release_its_stock(
    shop: OrdersInstance, link: ProductsLink, real_products: RealProducts
) -> None:
    """The sweep found no order and sent its release; the retry placed the order before the release
    arrived. The release used to free the units of the order being placed."""
    order_id = await lose_the_reserve_answer(shop, link, real_products, "race")
    await make_stale(shop, order_id)
    release = link.hold("OrdersReleaseStock")
    sweep = asyncio.create_task(shop.services.sweeps.release_stale_checkouts())
    await release.wait_reached()  # the sweep decided to release; its call is on the way

    order = await place_order(shop, "race", (SKU, 2))
    release.open()
    assert await sweep == 0  # the retry holds the stock now: nothing was released
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 2, "available": 8}

    await pay(shop, order)
    await wait_stock(shop, order_id, "committed")
    assert await real_products.stock(SKU) == {"onHand": 8, "reserved": 0, "available": 8}
    assert await shop.services.store.checkouts.count_documents({}) == 0


async def test_a_checkout_stalled_past_the_sweep_holds_its_stock_again(
    shop: OrdersInstance, link: ProductsLink, real_products: RealProducts
) -> None:
    """The other side of the race: the checkout stalls between products' answer and the order insert
    for longer than the stale-checkout age, and the sweep releases meanwhile."""
    order_id = order_id_for("alice", "stalled")
    answer = link.hold("OrdersReserveStock", after_answer=True)
    placing = asyncio.create_task(
        shop.gql(PLACE_ORDER, {"input": order_input((SKU, 2)), "key": "stalled"}, ALICE))
    await answer.wait_reached()
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 2, "available": 8}
    await make_stale(shop, order_id)
    assert await shop.services.sweeps.release_stale_checkouts() == 1
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 0, "available": 10}

    answer.open()
    body = await placing
    assert body["data"]["placeOrder"]["__typename"] == "OrderPlaced", body
    order = body["data"]["placeOrder"]["order"]
    assert order["status"] == "AWAITING_PAYMENT"
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 2, "available": 8}

    await pay(shop, order)
    await wait_stock(shop, order_id, "committed")
    assert await real_products.stock(SKU) == {"onHand": 8, "reserved": 0, "available": 8}


async def test_a_stalled_checkout_whose_stock_was_sold_meanwhile_is_cancelled(
    shop: OrdersInstance, link: ProductsLink, real_products: RealProducts, redis_url: str
) -> None:
    order_id = order_id_for("alice", "stalled-sold")
    answer = link.hold("OrdersReserveStock", after_answer=True)
    placing = asyncio.create_task(
        shop.gql(PLACE_ORDER, {"input": order_input((SKU, 2)), "key": "stalled-sold"}, ALICE))
    await answer.wait_reached()
    await make_stale(shop, order_id)
    assert await shop.services.sweeps.release_stale_checkouts() == 1
    await place_order(shop, "bob-buys-all", (SKU, 10), headers=BOB)  # the released units are sold

    answer.open()
    body = await placing
    order = body["data"]["placeOrder"]["order"]
    assert order["status"] == "CANCELLED" and "stock" in order["timeline"][-1]["reason"]
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 10, "available": 0}

    async def cancelled() -> list[Any]:
        return await bus_events(redis_url, "order.cancelled", order_id)

    await wait_for(cancelled, message="order.cancelled published")


async def test_a_commit_products_refuses_is_not_marked_committed(
    shop: OrdersInstance, real_products: RealProducts, redis_url: str
) -> None:
    """commitStock answered committed: false for a released reservation, and orders marked the stock
    committed anyway (it asked only for __typename): a PAID order with no stock taken."""
    order = await place_order(shop, "lost-hold", (SKU, 2))
    assert await real_products.release(order["id"])  # the hold is gone behind orders' back, for good

    event = payment_processed(order)
    await shop.services.consumer.handlers[event.type](event)
    document = await wait_stock(shop, order["id"], "released")
    assert document["status"] == "CANCELLED", document["status"]
    assert [e["to"] for e in document["timeline"]] == ["AWAITING_PAYMENT", "PAID", "CANCELLED"]
    assert "could not be committed" in document["timeline"][-1]["reason"]
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 0, "available": 10}

    async def cancelled() -> list[Any]:  # payments refunds a capture of a cancelled order
        return await bus_events(redis_url, "order.cancelled", order["id"])

    await wait_for(cancelled, message="order.cancelled published")


async def test_a_commit_of_a_lost_hold_holds_afresh_and_commits(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    """products answers committed: false (the hold was released, not for good): orders holds the units
    again and commits them, instead of marking the stock committed."""
    order = await place_order(orders, "lost-hold-fake", ("TEE-M", 2))
    products_state.lose_hold(order["id"])
    assert products_state.available("TEE-M") == 20

    event = payment_processed(order)
    await orders.services.consumer.handlers[event.type](event)
    document = await wait_stock(orders, order["id"], "committed")
    assert document["status"] == "PAID"
    assert products_state.reservations[order["id"]].state == "committed"
    assert products_state.variants["TEE-M"].stock == 18 and products_state.variants["TEE-M"].reserved == 0


async def test_a_commit_of_a_lost_hold_whose_units_are_gone_cancels_the_paid_order(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    order = await place_order(orders, "lost-hold-gone", ("CAP-L", 2))
    products_state.lose_hold(order["id"])
    products_state.variants["CAP-L"].reserved = 3  # sold to others meanwhile

    event = payment_processed(order)
    await orders.services.consumer.handlers[event.type](event)
    document = await wait_stock(orders, order["id"], "released")
    assert document["status"] == "CANCELLED"
    assert products_state.reservations[order["id"]].state == "released"
    assert products_state.variants["CAP-L"].stock == 3
    assert (await stored(orders, order["id"]))["stock"].get("pending") is None


async def test_two_sweeps_release_a_stale_attempt_once_and_leave_a_touched_one(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    store, sweeps = orders.services.store, orders.services.sweeps
    stale, fresh = order_id_for("alice", "stale"), order_id_for("alice", "fresh")
    for order_id in (stale, fresh):
        attempt = await store.begin_checkout(order_id, "alice", "fp")
        await orders.services.products.reserve(order_id, [RequestedLine("MUG-1", 1)], attempt.number)
    await make_stale(orders, stale)
    await make_stale(orders, fresh)
    await store.begin_checkout(fresh, "alice", "fp")  # a retry is under way: it touched the attempt
    assert sorted(await asyncio.gather(sweeps.release_stale_checkouts(), sweeps.release_stale_checkouts())) == [0, 1]
    assert products_state.release_calls == {stale: 1}
    assert products_state.reserved_for(fresh) and not products_state.reserved_for(stale)
    assert [doc["_id"] async for doc in store.checkouts.find({})] == [fresh]


async def test_a_shortage_fences_its_attempt_and_the_same_key_still_orders(
    shop: OrdersInstance, real_products: RealProducts
) -> None:
    """products remembers the attempt that found too little stock (so a late reserve of an older attempt
    holds nothing, tests/products/test_inventory.py); the next call with the key holds above it."""
    body = await shop.gql(PLACE_ORDER, {"input": order_input((SKU, 11)), "key": "short"}, ALICE)
    assert body["data"]["placeOrder"]["__typename"] == "InsufficientStock", body
    assert await shop.services.store.checkouts.count_documents({}) == 0
    order = await place_order(shop, "short", (SKU, 2))  # the corrected order, with the same key
    assert order["status"] == "AWAITING_PAYMENT"
    assert await real_products.stock(SKU) == {"onHand": 10, "reserved": 2, "available": 8}
    await pay(shop, order)
    await wait_stock(shop, order["id"], "committed")
    assert await real_products.stock(SKU) == {"onHand": 8, "reserved": 0, "available": 8}
