"""What payments does with order.cancelled / order.paid: never charge a closed order, refund a race."""

from __future__ import annotations

import redis.asyncio as aioredis

from subgraphs.kit.events import Event
from subgraphs.kit.events.types import OrderCancelled
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import order_created, order_id_of, payment_id_of, published, running_worker, wait_status


def cancelled(order_id: str) -> Event:
    return OrderCancelled(order_id=order_id, order_number="SO-1", user_id="u1", reason="hold expired").envelope(
        source="orders", subject=f"order:{order_id}")


async def test_a_payment_queued_for_an_order_cancelled_meanwhile_is_not_charged(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    event = order_created()
    await service.on_order_created(event)
    await service.on_order_cancelled(cancelled(order_id_of(event)))
    async with running_worker(core, redis_url):
        payment = await wait_status(core, payment_id_of(event), "FAILED")
    assert payment["failure"]["error_code"] == "order_closed" and payment["attempts"] == []
    assert await core.providers.get("card").ledger.charge_count() == 0  # type: ignore[attr-defined]


async def test_an_order_cancelled_before_its_created_event_arrives_is_not_charged(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis
) -> None:
    event = order_created()
    await service.on_order_cancelled(cancelled(order_id_of(event)))
    await service.on_order_created(event)
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None and payment["status"] == "FAILED" and payment["order_state"] == "CANCELLED"
    assert await redis.zcard(core.config.queue_name) == 0


async def test_a_payment_captured_for_a_cancelled_order_is_refunded_once(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    event = order_created(amount=1500)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        await wait_status(core, payment_id_of(event), "SUCCEEDED")
    await service.on_order_cancelled(cancelled(order_id_of(event)))
    await service.on_order_cancelled(cancelled(order_id_of(event)))  # redelivered
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None and payment["status"] == "REFUNDED" and payment["refunded_amount"] == 1500
    assert len(payment["refunds"]) == 1
    [refunded] = await published(redis, core, "payment.refunded")
    assert refunded["data"]["fully_refunded"] is True
