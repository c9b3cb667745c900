"""The status machine: payment events, expiry, customer/admin mutations, stock compensation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.jobs import Job, JobStatus

from subgraphs.orders.domain import OrderStatus
from subgraphs.orders.lifecycle import IllegalTransition, Transitioned
from subgraphs.orders.queue import ORDERS_QUEUE
from subgraphs.orders.worker import expire_order
from tests.orders.conftest import ADMIN, ALICE, BOB, OrdersInstance
from tests.orders.fake_products import ProductsState
from tests.orders.helpers import (
    bus_events,
    payment_failed,
    payment_processed,
    payment_refunded,
    place_order,
    publish,
    stored,
    wait_status,
    wait_stock,
)
from tests.orders.queries import CANCEL, FULFILL, error_codes
from tests.support.servers import wait_for
from tests.support.tokens import bearer


async def test_payment_processed_makes_the_order_paid_and_commits_stock(
    orders: OrdersInstance, products_state: ProductsState, redis_url: str
) -> None:
    order = await place_order(orders, "pay-1", ("TEE-M", 2))
    await publish(redis_url, payment_processed(order))
    await wait_status(orders, order["id"], "PAID")
    document = await wait_stock(orders, order["id"], "committed")
    assert document["version"] == 2 and document["payment_id"].startswith("pay-")
    assert [(e["from"], e["to"]) for e in document["timeline"]] == [(None, "AWAITING_PAYMENT"),
                                                                    ("AWAITING_PAYMENT", "PAID")]
    assert products_state.reservations[order["id"]].state == "committed"
    assert products_state.variants["TEE-M"].stock == 18 and products_state.variants["TEE-M"].reserved == 0
    assert document["stock"]["pending"] is None

    async def paid_event() -> list[Any]:
        return await bus_events(redis_url, "order.paid", order["id"])

    [event] = await wait_for(paid_event)
    assert event.data["total_amount"] == 3998 and event.data["payment_id"] == document["payment_id"]


async def test_a_payment_for_another_amount_does_not_pay_the_order(orders: OrdersInstance) -> None:
    order = await place_order(orders, "pay-wrong")
    event = payment_processed(order, amount=1)
    await orders.services.consumer.handlers[event.type](event)
    assert (await stored(orders, order["id"]))["status"] == "AWAITING_PAYMENT"


async def test_final_payment_failure_cancels_and_releases_stock_once(
    orders: OrdersInstance, products_state: ProductsState, redis_url: str
) -> None:
    order = await place_order(orders, "fail-1", ("CAP-L", 3))
    assert products_state.available("CAP-L") == 0
    failure = payment_failed(order)
    await publish(redis_url, failure)
    document = await wait_stock(orders, order["id"], "released")
    assert document["status"] == "CANCELLED"
    assert document["timeline"][-1]["reason"] == "payment failed: card declined"
    assert products_state.available("CAP-L") == 3

    # the same failure again: redelivered as is, and re-sent by payments under a new event id
    handler = orders.services.consumer.handlers[failure.type]
    await handler(failure)
    await publish(redis_url, payment_failed(order))
    await asyncio.wait_for(orders.services.consumer.poll_once(block_ms=50), timeout=5)
    assert products_state.release_calls[order["id"]] == 1
    assert (await stored(orders, order["id"]))["version"] == 2

    async def cancelled_events() -> list[Any]:
        return await bus_events(redis_url, "order.cancelled", order["id"])

    events = await wait_for(cancelled_events)
    assert len(events) == 1 and events[0].data["reason"] == "payment failed: card declined"


async def test_a_transient_payment_failure_changes_nothing(orders: OrdersInstance) -> None:
    order = await place_order(orders, "fail-soft")
    event = payment_failed(order, final=False)
    await orders.services.consumer.handlers[event.type](event)
    assert (await stored(orders, order["id"]))["status"] == "AWAITING_PAYMENT"


async def test_full_refund_refunds_a_paid_order_partial_does_not(orders: OrdersInstance, redis_url: str) -> None:
    order = await place_order(orders, "refund-1")
    handlers = orders.services.consumer.handlers
    partial, full = payment_refunded(order, fully=False), payment_refunded(order)
    await handlers[full.type](full)  # before payment: illegal, ignored
    assert (await stored(orders, order["id"]))["status"] == "AWAITING_PAYMENT"
    paid = payment_processed(order)
    await handlers[paid.type](paid)
    await handlers[partial.type](partial)
    assert (await stored(orders, order["id"]))["status"] == "PAID"
    await publish(redis_url, full)
    document = await wait_status(orders, order["id"], "REFUNDED")
    assert document["timeline"][-1]["reason"] == "refund re_1"

    async def refunded_events() -> list[Any]:
        return await bus_events(redis_url, "order.refunded", order["id"])

    assert len(await wait_for(refunded_events)) == 1


async def test_expire_order_job_cancels_only_an_unpaid_order_whose_hold_ended(
    orders: OrdersInstance, products_state: ProductsState
) -> None:
    ctx = {"orders": orders.services}
    order = await place_order(orders, "expire-1", ("MUG-1", 2))
    # this job alone: listing the whole queue races the worker's cron jobs (a listed job can finish
    # and vanish before its definition is read, and arq's queued_jobs then raises)
    expiry = Job(f"expire:{order['id']}", orders.services.queue, _queue_name=ORDERS_QUEUE)
    assert await expiry.status() == JobStatus.deferred  # due when the hold ends
    assert await expire_order(ctx, order["id"]) is False  # the hold has not ended yet
    past = datetime.now(UTC) - timedelta(seconds=1)
    await orders.services.store.orders.update_one({"_id": order["id"]}, {"$set": {"hold_expires_at": past}})
    assert await expire_order(ctx, order["id"]) is True
    document = await stored(orders, order["id"])
    assert document["status"] == "CANCELLED" and document["timeline"][-1]["reason"].startswith("stock hold expired")
    assert products_state.available("MUG-1") == 5
    assert await expire_order(ctx, order["id"]) is False  # a repeated job changes nothing
    assert products_state.release_calls[order["id"]] == 1

    paid = await place_order(orders, "expire-2")
    event = payment_processed(paid)
    await orders.services.consumer.handlers[event.type](event)
    await orders.services.store.orders.update_one({"_id": paid["id"]}, {"$set": {"hold_expires_at": past}})
    assert await expire_order(ctx, paid["id"]) is False
    assert (await stored(orders, paid["id"]))["status"] == "PAID"
    assert await expire_order(ctx, "no-such-order") is False


async def test_the_in_process_worker_expires_an_unpaid_order(orders_factory: Any,
                                                             products_state: ProductsState) -> None:
    async with orders_factory(hold_ttl=0.3) as orders:
        order = await place_order(orders, "expire-worker", ("CAP-L", 1))
        document = await wait_status(orders, order["id"], "CANCELLED", within=15)
        assert document["timeline"][-1]["reason"].startswith("stock hold expired")

        async def released() -> bool:
            return products_state.available("CAP-L") == 3

        await wait_for(released)


async def test_the_hold_sweep_expires_orders_whose_job_was_lost(orders_factory: Any) -> None:
    # No in-process worker: its own run of this sweep (at start, and at :20 and :50) would race ours.
    async with orders_factory(run_worker=False) as orders:
        order = await place_order(orders, "sweep-1")
        past = datetime.now(UTC) - timedelta(seconds=1)
        await orders.services.store.orders.update_one({"_id": order["id"]}, {"$set": {"hold_expires_at": past}})
        assert await orders.services.sweeps.expire_due_holds() == 1
        assert (await stored(orders, order["id"]))["status"] == "CANCELLED"


async def test_customer_cancels_their_order_once(orders: OrdersInstance, products_state: ProductsState) -> None:
    order = await place_order(orders, "cancel-1", ("MUG-1", 1))
    assert error_codes(await orders.gql(CANCEL, {"id": order["id"]})) == ["UNAUTHENTICATED"]
    assert error_codes(await orders.gql(CANCEL, {"id": order["id"]}, BOB)) == ["FORBIDDEN"]
    body = await orders.gql(CANCEL, {"id": order["id"], "reason": "changed my mind"}, ALICE)
    result = body["data"]["cancelOrder"]
    assert result["__typename"] == "OrderTransitioned" and result["order"]["status"] == "CANCELLED"
    assert result["order"]["timeline"][-1] == {"eventId": "2", "from": "AWAITING_PAYMENT", "to": "CANCELLED",
                                               "reason": "cancelled by the customer: changed my mind"}
    assert products_state.release_calls[order["id"]] == 1
    again = (await orders.gql(CANCEL, {"id": order["id"]}, ALICE))["data"]["cancelOrder"]
    assert again["__typename"] == "InvalidStatusTransition"
    assert (again["from"], again["to"]) == ("CANCELLED", "CANCELLED")
    assert products_state.release_calls[order["id"]] == 1


async def test_admin_cancels_but_not_a_paid_order(orders: OrdersInstance) -> None:
    order = await place_order(orders, "cancel-admin")
    paid = payment_processed(order)
    await orders.services.consumer.handlers[paid.type](paid)
    result = (await orders.gql(CANCEL, {"id": order["id"]}, ADMIN))["data"]["cancelOrder"]
    assert result["__typename"] == "InvalidStatusTransition" and result["from"] == "PAID"
    other = await place_order(orders, "cancel-admin-2")
    result = (await orders.gql(CANCEL, {"id": other["id"]}, ADMIN))["data"]["cancelOrder"]
    assert result["order"]["timeline"][-1]["reason"] == "cancelled by an orders admin"


async def test_fulfil_is_admin_only_and_needs_a_paid_order(orders: OrdersInstance, redis_url: str) -> None:
    order = await place_order(orders, "fulfil-1")
    assert error_codes(await orders.gql(FULFILL, {"id": order["id"]}, ALICE)) == ["FORBIDDEN"]
    assert error_codes(await orders.gql(FULFILL, {"id": order["id"]})) == ["UNAUTHENTICATED"]
    early = (await orders.gql(FULFILL, {"id": order["id"]}, ADMIN))["data"]["fulfillOrder"]
    assert early["__typename"] == "InvalidStatusTransition"
    assert (early["from"], early["to"]) == ("AWAITING_PAYMENT", "FULFILLED")
    paid = payment_processed(order)
    await orders.services.consumer.handlers[paid.type](paid)
    done = (await orders.gql(FULFILL, {"id": order["id"]}, ADMIN))["data"]["fulfillOrder"]
    assert done["__typename"] == "OrderTransitioned" and done["order"]["status"] == "FULFILLED"

    async def fulfilled() -> list[Any]:
        return await bus_events(redis_url, "order.fulfilled", order["id"])

    assert len(await wait_for(fulfilled)) == 1
    refund = payment_refunded(order)
    await orders.services.consumer.handlers[refund.type](refund)  # FULFILLED is final
    assert (await stored(orders, order["id"]))["status"] == "FULFILLED"


async def test_mutations_reject_bad_and_unknown_ids(orders: OrdersInstance) -> None:
    for mutation in (CANCEL, FULFILL):
        assert error_codes(await orders.gql(mutation, {"id": "not-an-id"}, ADMIN)) == ["BAD_USER_INPUT"]
        unknown = "00000000-0000-5000-8000-000000000000"
        assert error_codes(await orders.gql(mutation, {"id": unknown}, ADMIN)) == ["NOT_FOUND"]


async def test_release_owed_while_products_is_down_is_retried(orders_factory: Any,
                                                              products_state: ProductsState) -> None:
    # No in-process worker: its retry job (at :05 and :35, for actions 10 s old) could take ours.
    async with orders_factory(run_worker=False) as orders:
        order = await place_order(orders, "comp-1", ("CAP-L", 2))
        products_state.failing = True
        result = (await orders.gql(CANCEL, {"id": order["id"]}, ALICE))["data"]["cancelOrder"]
        assert result["order"]["status"] == "CANCELLED"
        document = await stored(orders, order["id"])
        assert document["stock"]["pending"] == "release" and document["stock"]["attempts"] == 1
        assert products_state.available("CAP-L") == 1
        assert await orders.services.lifecycle.retry_stock_actions(grace=timedelta(0)) == 0  # still down
        products_state.failing = False
        assert await orders.services.lifecycle.retry_stock_actions(grace=timedelta(0)) == 1
        assert products_state.available("CAP-L") == 3
        assert (await stored(orders, order["id"]))["stock"]["state"] == "released"
        assert await orders.services.lifecycle.retry_stock_actions(grace=timedelta(0)) == 0
        assert products_state.release_calls[order["id"]] == 1


async def test_racing_payment_and_cancellation_one_wins(orders: OrdersInstance) -> None:
    lifecycle = orders.services.lifecycle
    for attempt in range(5):
        order = await place_order(orders, f"race-{attempt}")
        outcomes = await asyncio.gather(
            lifecycle.transition(order["id"], OrderStatus.PAID, "paid"),
            lifecycle.transition(order["id"], OrderStatus.CANCELLED, "cancelled"),
        )
        assert sorted(type(o).__name__ for o in outcomes) == [IllegalTransition.__name__, Transitioned.__name__]
        document = await stored(orders, order["id"])
        assert document["version"] == 2 and len(document["timeline"]) == 2


async def test_service_tokens_may_not_cancel(orders: OrdersInstance) -> None:
    order = await place_order(orders, "svc")
    assert error_codes(await orders.gql(CANCEL, {"id": order["id"]}, bearer("service:payments"))) == ["FORBIDDEN"]
