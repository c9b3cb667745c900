"""Refunds: full or partial, never more than captured (also under concurrency), idempotent per key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from subgraphs.kit.auth import Viewer
from subgraphs.kit.errors import BadUserInput, NotFound
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.providers import RefundRequest
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.refunds import RefundOutcome, new_refund
from subgraphs.payments.service import PaymentService, RefundRefused
from tests.payments.conftest import (
    DECLINED_CARD,
    EVERYTHING_STALE,
    assert_consistent,
    books,
    order_created,
    payment_id_of,
    published,
    running_worker,
    wait_status,
)

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


async def test_two_partial_refunds_in_a_row_each_complete(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    """The second refund's update used to land on refunds[0] (positional `$` in mongomock): it stayed PENDING."""
    payment_id = await paid(core, service, redis_url, amount=5000)
    first = await service.refund_payment(ADMIN, payment_id, 500, None, "rma-1")
    second = await service.refund_payment(ADMIN, payment_id, 500, None, "rma-2")
    assert isinstance(first, RefundOutcome) and isinstance(second, RefundOutcome)
    assert [r["status"] for r in second.payment["refunds"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert second.refund["status"] == "SUCCEEDED" and second.refund["id"] != first.refund["id"]
    payment = await core.store.get(payment_id)
    assert payment is not None
    assert (payment["refunded_amount"], payment["refundable_amount"], payment["status"]) == (
        1000, 4000, "PARTIALLY_REFUNDED")
    assert_consistent(payment, await books(core, payment["order_id"]))
    assert len(await published(redis, core, "payment.refunded")) == 2


async def test_five_concurrent_refunds_of_40_percent_refund_two(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    payment_id = await paid(core, service, redis_url, amount=5000)
    outcomes = await asyncio.gather(*(service.refund_payment(ADMIN, payment_id, 2000, None, f"c{i}") for i in range(5)))
    done = [o for o in outcomes if isinstance(o, RefundOutcome)]
    assert len(done) == 2 and {o.refund["status"] for o in done} == {"SUCCEEDED"}
    assert all(isinstance(o, RefundRefused) and o.reason == "EXCEEDS_REFUNDABLE" for o in outcomes if o not in done)
    payment = await core.store.get(payment_id)
    assert payment is not None and (payment["refunded_amount"], payment["refundable_amount"]) == (4000, 1000)
    assert_consistent(payment, await books(core, payment["order_id"]))
    for _ in range(3):
        await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
    again = await core.store.get(payment_id)
    assert again is not None and again["refunded_amount"] == 4000
    assert_consistent(again, await books(core, payment["order_id"]))


async def test_reconciliation_completes_refunds_the_provider_made_once(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    """Two refunds held, both done at the provider, neither recorded (the API died): any number of
    passes completes each once, and refunded never exceeds what was captured."""
    payment_id = await paid(core, service, redis_url, amount=5000)
    payment = await core.store.get(payment_id)
    assert payment is not None
    provider = core.providers.get("card")
    for refund_id, amount in (("lost-1", 2000), ("lost-2", 2500)):
        refund = {**new_refund(refund_id, amount, 1, "ops", None), "created_at": datetime.now(UTC) - timedelta(hours=1)}
        assert await core.store.reserve_refund(payment_id, refund, datetime.now(UTC)) is not None
        await provider.refund(RefundRequest(idempotency_key=refund_id, charge_idempotency_key=f"{payment_id}:1",
                                            amount=amount, currency="EUR"))
    first = await Reconciler(core).run_once()
    assert sorted(first.refunds_resumed) == ["lost-1", "lost-2"]
    for _ in range(4):
        report = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
        assert report.refunds_resumed == [] and report.refunds_issued == []
    payment = await core.store.get(payment_id)
    assert payment is not None
    assert (payment["refunded_amount"], payment["refundable_amount"], payment["status"]) == (
        4500, 500, "PARTIALLY_REFUNDED")
    ledger = await books(core, payment["order_id"])
    assert ledger.refunded == 4500
    assert_consistent(payment, ledger)
    assert len(await published(redis, core, "payment.refunded")) == 2


async def test_a_retried_refund_without_a_key_pays_once(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    payment_id = await paid(core, service, redis_url)
    first = await service.refund_payment(ADMIN, payment_id, 300, "damaged", None)
    retried = await service.refund_payment(ADMIN, payment_id, 300, "damaged", None)  # the client's retry
    concurrent = await asyncio.gather(*(service.refund_payment(ADMIN, payment_id, 200, None, None) for _ in range(3)))
    assert isinstance(first, RefundOutcome) and isinstance(retried, RefundOutcome)
    assert retried.refund["id"] == first.refund["id"]
    assert len({o.refund["id"] for o in concurrent if isinstance(o, RefundOutcome)}) == 1
    payment = await core.store.get(payment_id)
    assert payment is not None and payment["refunded_amount"] == 500 and len(payment["refunds"]) == 2
    assert_consistent(payment, await books(core, payment["order_id"]))


async def test_system_refund_keys_are_reserved(core: PaymentsCore, service: PaymentService, redis_url: str) -> None:
    payment_id = await paid(core, service, redis_url)
    with pytest.raises(BadUserInput):
        await service.refund_payment(ADMIN, payment_id, 100, None, "system:order-cancelled:0")
