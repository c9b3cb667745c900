"""A charge and the order's cancellation, in any order: a capture for a cancelled order is refunded in
full, exactly once (issue case 2). Both sides write, then read what the other wrote."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from subgraphs.kit.events import Event
from subgraphs.kit.events.types import OrderCancelled
from subgraphs.payments import events as payment_events
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.domain import idempotency_key_for, payment_id_for
from subgraphs.payments.processor import PaymentProcessor
from subgraphs.payments.providers import ChargeRequest, ChargeResult, RefundRequest, RefundResult
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import (
    EVERYTHING_STALE,
    FAST,
    SLOW_CARD,
    assert_consistent,
    books,
    order_created,
    order_id_of,
    payment_id_of,
    published,
    running_worker,
    wait_status,
)
from tests.support.servers import wait_for


@pytest.fixture
def config() -> PaymentsConfig:
    # The slow card answers after 1 s; the provider timeout leaves it time to (the cancel lands meanwhile).
    return replace(FAST, slow_charge_seconds=1.0, provider_timeout_seconds=8.0, job_timeout_seconds=15.0)


def cancelled(order_id: str) -> Event:
    return OrderCancelled(order_id=order_id, order_number="SO-1", user_id="u1", reason="customer cancelled").envelope(
        source="orders", subject=f"order:{order_id}")


class GatedAnswers:
    """The real provider, whose charge answers are held until the test opens the gate (the charge is
    made at once: what a slow network does to the answer)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.ledger = inner, inner.name, inner.ledger
        self.gate = asyncio.Event()

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        result = await self.inner.charge(request)
        await self.gate.wait()
        return result

    async def refund(self, request: RefundRequest) -> RefundResult:
        return await self.inner.refund(request)

    async def lookup(self, idempotency_key: str) -> ChargeResult | None:
        return await self.inner.lookup(idempotency_key)

    async def resolve_charge(self, idempotency_key: str) -> ChargeResult | None:
        return await self.inner.resolve_charge(idempotency_key)


async def charged(core: PaymentsCore, payment_id: str) -> None:
    async def probe() -> bool:
        return await core.providers.get("card").lookup(idempotency_key_for(payment_id, 1)) is not None

    await wait_for(probe, timeout=10, message="the provider to charge")


async def test_cancel_while_the_slow_card_is_charged_refunds_in_full(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    event = order_created(token=SLOW_CARD, amount=1500)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        await charged(core, payment_id_of(event))  # charged; its answer comes 1 s later
        await service.on_order_cancelled(cancelled(order_id_of(event)))
        payment = await wait_status(core, payment_id_of(event), "REFUNDED")
    assert payment["order_state"] == "CANCELLED" and payment["refunded_amount"] == 1500
    ledger = await books(core, order_id_of(event))
    assert ledger.net == 0 and len(ledger.refunds) == 1
    assert_consistent(payment, ledger)
    [refunded] = await published(redis, core, "payment.refunded")
    assert refunded["data"]["fully_refunded"] is True


async def test_the_charge_answer_after_the_cancel_sees_it_and_refunds(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    """Deterministically the interleaving of the issue: cancel handled while the charge's answer is on its way."""
    gated = GatedAnswers(core.providers.get("card"))
    core.providers._providers["card"] = gated
    event = order_created(amount=2200)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        await charged(core, payment_id_of(event))
        await service.on_order_cancelled(cancelled(order_id_of(event)))
        processing = await core.store.get(payment_id_of(event))
        assert processing is not None and processing["status"] == "PROCESSING" and processing["refunds"] == []
        gated.gate.set()
        payment = await wait_status(core, payment_id_of(event), "REFUNDED")
    ledger = await books(core, order_id_of(event))
    assert ledger.captured == 2200 and ledger.net == 0 and len(ledger.refunds) == 1
    assert_consistent(payment, ledger)
    await service.on_order_cancelled(cancelled(order_id_of(event)))  # redelivered: nothing more
    assert len((await books(core, order_id_of(event))).refunds) == 1


async def test_created_and_cancelled_handled_at_once_by_two_instances(
    core: PaymentsCore, redis: aioredis.Redis, redis_url: str
) -> None:
    """Instance A reads "order open" and inserts the payment only after instance B has recorded the
    cancel and found no payment to mark: A's read after its insert sees the cancel."""
    other = await PaymentsCore.open(redis, core.store.collection.database, redis_url, core.config,
                                    ledger_database=core.ledger_database)
    first, second = PaymentService(core), PaymentService(other)
    event = order_created(amount=1800)
    cancel_done = asyncio.Event()
    read_before_insert = core.store.order_state
    calls = 0

    async def order_state_then_wait(order_id: str) -> Any:
        nonlocal calls
        calls += 1
        state = await read_before_insert(order_id)
        if calls == 1:  # A's read before its insert: B runs entirely between that read and the insert
            await cancel_done.wait()
        return state

    core.store.order_state = order_state_then_wait  # type: ignore[method-assign]

    async def cancel() -> None:
        await second.on_order_cancelled(cancelled(order_id_of(event)))
        cancel_done.set()

    try:
        await asyncio.gather(first.on_order_created(event), cancel())
        async with running_worker(core, redis_url):
            payment = await wait_status(core, payment_id_of(event), "FAILED", "REFUNDED")
    finally:
        await other.close()
    assert payment["order_state"] == "CANCELLED"
    ledger = await books(core, order_id_of(event))
    assert ledger.net == 0
    assert_consistent(payment, ledger)


async def test_many_orders_created_and_cancelled_concurrently_on_two_instances_never_keep_money(
    core: PaymentsCore, redis: aioredis.Redis, redis_url: str
) -> None:
    other = await PaymentsCore.open(redis, core.store.collection.database, redis_url, core.config,
                                    ledger_database=core.ledger_database)
    first, second = PaymentService(core), PaymentService(other)
    events = [order_created(amount=1000 + i) for i in range(12)]
    try:
        async with running_worker(core, redis_url), running_worker(other, redis_url):
            await asyncio.gather(*(handler for e in events for handler in (
                first.on_order_created(e), second.on_order_cancelled(cancelled(order_id_of(e))))))
            payments = [await wait_status(core, payment_id_of(e), "FAILED", "REFUNDED", within=20) for e in events]
    finally:
        await other.close()
    for event, payment in zip(events, payments, strict=True):
        ledger = await books(core, order_id_of(event))
        assert payment["order_state"] == "CANCELLED" and ledger.net == 0
        assert_consistent(payment, ledger)


async def test_reconciliation_refunds_a_capture_nobody_refunded(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    """The job died between recording the capture and refunding it: the next pass refunds, once."""
    event = order_created(amount=900)
    await service.on_order_created(event)
    await service.on_order_cancelled(cancelled(order_id_of(event)))
    payment_id = payment_id_of(event)
    result = await core.providers.get("card").charge(ChargeRequest(
        idempotency_key=idempotency_key_for(payment_id, 1), amount=900, currency="EUR", token="pm_card_visa",
        order_id=order_id_of(event)))
    payment = await core.store.get(payment_id)
    assert payment is not None
    await core.store.succeed(payment_id, 1, reference=result.reference, amount=900, record=None,
                             event=payment_events.processed(payment, 1, result.reference), now=datetime.now(UTC),
                             from_statuses=("FAILED", "PENDING", "PROCESSING"))
    report = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
    assert len(report.refunds_issued) == 1
    for _ in range(3):
        again = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
        assert again.refunds_issued == [] and again.refunds_resumed == []
    payment = await core.store.get(payment_id)
    assert payment is not None and payment["status"] == "REFUNDED"
    ledger = await books(core, order_id_of(event))
    assert ledger.net == 0
    assert_consistent(payment, ledger)


async def test_reconciliation_adopts_a_cancellation_the_payment_missed(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    event = order_created(amount=700)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        await wait_status(core, payment_id_of(event), "SUCCEEDED")
    # What an old handler left behind: the cancel recorded for the order, never on its payment.
    await core.store.closed_orders.insert_one({"_id": order_id_of(event), "state": "CANCELLED",
                                               "at": datetime.now(UTC)})
    report = await Reconciler(core).run_once()
    assert len(report.refunds_issued) == 1
    payment = await core.store.get(payment_id_for(order_id_of(event)))
    assert payment is not None and payment["status"] == "REFUNDED" and payment["order_state"] == "CANCELLED"
    assert_consistent(payment, await books(core, order_id_of(event)))


async def test_a_try_killed_mid_charge_is_settled_before_the_cancelled_order_fails_it(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    """Found by the chaos suite (seed 2): try 1 started and the provider charged, its worker was killed
    before any try was recorded, the order was cancelled, and try 2 failed the payment `order_closed`
    without asking the provider: charged 15,444 for a cancelled order, never refunded."""
    event = order_created(amount=1544)
    await service.on_order_created(event)
    payment_id = payment_id_of(event)
    assert await core.store.start_processing(payment_id, 1, datetime.now(UTC)) is not None  # try 1 begins
    await core.providers.get("card").charge(ChargeRequest(  # its charge goes out; then the worker dies
        idempotency_key=idempotency_key_for(payment_id, 1), amount=1544, currency="EUR", token="pm_card_visa",
        order_id=order_id_of(event)))
    await service.on_order_cancelled(cancelled(order_id_of(event)))

    outcome = await PaymentProcessor(core).run(payment_id, 1, {}, job_try=2)  # arq runs the job again
    assert "order_closed" not in outcome
    async with running_worker(core, redis_url):
        payment = await wait_status(core, payment_id, "REFUNDED")
    ledger = await books(core, order_id_of(event))
    assert ledger.captured == 1544 and ledger.net == 0 and len(ledger.refunds) == 1
    assert_consistent(payment, ledger)


async def test_a_try_that_never_started_fails_the_cancelled_order_without_asking_the_provider(
    core: PaymentsCore, service: PaymentService
) -> None:
    event = order_created(amount=800)
    await service.on_order_created(event)
    await service.on_order_cancelled(cancelled(order_id_of(event)))
    outcome = await PaymentProcessor(core).run(payment_id_of(event), 1, {}, job_try=1)
    assert "order_closed" in outcome
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None and payment["status"] == "FAILED" and payment["failure"]["error_code"] == "order_closed"
    assert (await books(core, order_id_of(event))).captured == 0
