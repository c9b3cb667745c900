"""Refunds: full or partial, never more than captured (also under concurrency), idempotent per key."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from subgraphs.kit.auth import Viewer
from subgraphs.kit.errors import BadUserInput, NotFound
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.refunds import RefundOutcome
from subgraphs.payments.service import PaymentService, RefundRefused
from tests.payments.conftest import DECLINED_CARD, order_created, payment_id_of, published, running_worker, wait_status

ADMIN = Viewer(user_id="ops", scopes=frozenset({"payments:admin"}), token="")


async def paid(core: PaymentsCore, service: PaymentService, redis_url: str, amount: int = 1000, token: str = "") -> str:
    event = order_created(amount=amount, **({"token": token} if token else {}))
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        await wait_status(core, payment_id_of(event), "SUCCEEDED", "FAILED")
    return payment_id_of(event)


async def test_partial_then_full_refund(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    payment_id = await paid(core, service, redis_url)
    first = await service.refund_payment(ADMIN, payment_id, 300, "damaged box", None)
    assert isinstance(first, RefundOutcome) and first.refund["status"] == "SUCCEEDED"
    assert first.payment["status"] == "PARTIALLY_REFUNDED"
    assert (first.payment["refunded_amount"], first.payment["refundable_amount"]) == (300, 700)
    rest = await service.refund_payment(ADMIN, payment_id, None, None, None)
    assert isinstance(rest, RefundOutcome) and rest.refund["amount"] == 700
    assert rest.payment["status"] == "REFUNDED" and rest.payment["refunded_amount"] == 1000
    events = await published(redis, core, "payment.refunded")
    assert [(e["data"]["amount"], e["data"]["fully_refunded"]) for e in events] == [(300, False), (700, True)]
    assert await core.providers.get("card").ledger.refund_count() == 2  # type: ignore[attr-defined]


async def test_never_more_than_captured(core: PaymentsCore, service: PaymentService, redis_url: str) -> None:
    payment_id = await paid(core, service, redis_url)
    over = await service.refund_payment(ADMIN, payment_id, 1001, None, None)
    assert isinstance(over, RefundRefused) and over.reason == "EXCEEDS_REFUNDABLE" and over.refundable == 1000
    await service.refund_payment(ADMIN, payment_id, None, None, None)
    again = await service.refund_payment(ADMIN, payment_id, 1, None, None)
    assert isinstance(again, RefundRefused) and again.reason == "FULLY_REFUNDED"


async def test_concurrent_partial_refunds_cannot_overdraw(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    payment_id = await paid(core, service, redis_url)
    outcomes = await asyncio.gather(*(service.refund_payment(ADMIN, payment_id, 300, None, f"r{i}") for i in range(6)))
    done = [o for o in outcomes if isinstance(o, RefundOutcome)]
    assert len(done) == 3 and all(isinstance(o, RefundRefused) for o in outcomes if o not in done)
    payment = await core.store.get(payment_id)
    assert payment is not None
    assert (payment["refunded_amount"], payment["refundable_amount"], payment["status"]) == (
        900, 100, "PARTIALLY_REFUNDED")


async def test_the_same_idempotency_key_refunds_once(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    payment_id = await paid(core, service, redis_url)
    outcomes = await asyncio.gather(*(service.refund_payment(ADMIN, payment_id, 400, None, "rma-7") for _ in range(4)))
    assert {o.refund["id"] for o in outcomes if isinstance(o, RefundOutcome)} == {outcomes[0].refund["id"]}  # type: ignore[union-attr]
    payment = await core.store.get(payment_id)
    assert payment is not None and payment["refunded_amount"] == 400 and len(payment["refunds"]) == 1
    assert await core.providers.get("card").ledger.refund_count() == 1  # type: ignore[attr-defined]


async def test_refusals_and_bad_input(core: PaymentsCore, service: PaymentService, redis_url: str) -> None:
    failed = await paid(core, service, redis_url, token=DECLINED_CARD)
    refused = await service.refund_payment(ADMIN, failed, None, None, None)
    assert isinstance(refused, RefundRefused) and refused.reason == "NOT_CAPTURED"
    with pytest.raises(BadUserInput):
        await service.refund_payment(ADMIN, failed, 0, None, None)
    with pytest.raises(BadUserInput):
        await service.refund_payment(ADMIN, failed, -5, None, None)
    with pytest.raises(NotFound):
        await service.refund_payment(ADMIN, "missing", 10, None, None)
