"""Every answer lost: an attempt whose outcome is unknown is never FAILED, and no new attempt (a new
idempotency key) is made before the provider's books settled the previous one (issue case 3)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from subgraphs.kit.auth import Viewer
from subgraphs.payments import events as payment_events
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import idempotency_key_for
from subgraphs.payments.providers import (
    ChargeRequest,
    ChargeResult,
    ProviderUnreachable,
    RefundRequest,
    RefundResult,
)
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.service import PaymentService, RetryRefused, RetryScheduled
from tests.payments.conftest import (
    SUCCESS_CARD,
    TIMEOUT_CARD,
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

CUSTOMER = Viewer(user_id="u1", scopes=frozenset(), token="")


class LostAnswers:
    """The real provider, but every answer to a charge of attempt 1 is lost after the provider charged
    (it hangs until the caller's timeout); `books_reachable` False makes its books unreachable too."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.ledger = inner, inner.name, inner.ledger
        self.books_reachable = True

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        result = await self.inner.charge(request)
        if request.idempotency_key.endswith(":1"):
            await asyncio.Event().wait()  # the answer never arrives: the caller's timeout ends the wait
        return result

    async def refund(self, request: RefundRequest) -> RefundResult:
        return await self.inner.refund(request)

    async def lookup(self, idempotency_key: str) -> ChargeResult | None:
        return await self.inner.lookup(idempotency_key)

    async def resolve_charge(self, idempotency_key: str) -> ChargeResult | None:
        if not self.books_reachable:
            raise ProviderUnreachable("provider_unreachable", "connection reset")
        return await self.inner.resolve_charge(idempotency_key)


def losing(core: PaymentsCore) -> LostAnswers:
    wrapper = LostAnswers(core.providers.get("card"))
    core.providers._providers["card"] = wrapper
    return wrapper


async def test_every_answer_lost_then_a_retry_charges_once(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    losing(core)
    event = order_created(amount=2500)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        payment = await wait_status(core, payment_id_of(event), "SUCCEEDED", "FAILED", within=20)
        retried = await service.retry_payment(CUSTOMER, order_id_of(event), None)  # the customer retries anyway
        assert isinstance(retried, RetryRefused) and retried.reason == "NOT_FAILED"
    assert payment["status"] == "SUCCEEDED"
    assert [a["outcome"] for a in payment["attempts"]] == ["TIMEOUT"] * core.config.max_provider_tries
    ledger = await books(core, order_id_of(event))
    assert len(ledger.charges) == 1 and ledger.captured == 2500
    assert_consistent(payment, ledger)
    assert await published(redis, core, "payment.failed") == []
    assert len(await published(redis, core, "payment.processed")) == 1


async def test_an_outcome_the_provider_cannot_tell_stays_unknown_and_blocks_retries(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    provider = losing(core)
    provider.books_reachable = False
    event = order_created(amount=1200)
    await service.on_order_created(event)
    payment_id = payment_id_of(event)

    async def unknown() -> dict[str, Any] | None:
        payment = await core.store.get(payment_id)
        return payment if payment and payment.get("outcome_unknown") else None

    async with running_worker(core, redis_url):
        payment = await wait_for(unknown, timeout=20, message="the attempt's outcome to be unknown")
    assert payment["status"] == "PROCESSING" and payment["outcome_unknown"]["attempt"] == 1
    assert await published(redis, core, "payment.failed") == []  # never "failed"

    refused = await service.retry_payment(CUSTOMER, order_id_of(event), ("card", SUCCESS_CARD))
    assert isinstance(refused, RetryRefused) and refused.reason == "OUTCOME_UNKNOWN"
    assert (await core.store.get(payment_id))["attempt"] == 1  # type: ignore[index]

    provider.books_reachable = True
    settled = await service.retry_payment(CUSTOMER, order_id_of(event), ("card", SUCCESS_CARD))
    assert isinstance(settled, RetryRefused) and settled.reason == "NOT_FAILED"
    assert settled.payment["status"] == "SUCCEEDED" and settled.payment["attempt"] == 1
    ledger = await books(core, order_id_of(event))
    assert len(ledger.charges) == 1
    assert_consistent(settled.payment, ledger)


async def test_reconciliation_settles_an_unknown_outcome(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    provider = losing(core)
    provider.books_reachable = False
    event = order_created(amount=800)
    await service.on_order_created(event)

    async def unknown() -> bool:
        payment = await core.store.get(payment_id_of(event))
        return bool(payment and payment.get("outcome_unknown"))

    async with running_worker(core, redis_url):
        await wait_for(unknown, timeout=20, message="the attempt's outcome to be unknown")
    assert (await Reconciler(core).run_once()).outcomes_resolved == []  # still cannot tell
    provider.books_reachable = True
    report = await Reconciler(core).run_once()
    assert report.outcomes_resolved == [payment_id_of(event)]
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None and payment["status"] == "SUCCEEDED" and payment["outcome_unknown"] is None
    assert (await Reconciler(core).run_once()).outcomes_resolved == []
    assert_consistent(payment, await books(core, order_id_of(event)))
    assert len(await published(redis, core, "payment.processed")) == 1


async def test_no_charge_found_voids_the_key_so_a_late_request_cannot_charge(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    event = order_created(token=TIMEOUT_CARD, amount=1000)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        failed = await wait_status(core, payment_id_of(event), "FAILED", within=20)
        assert failed["failure"]["final"] is False
        retried = await service.retry_payment(CUSTOMER, order_id_of(event), ("card", SUCCESS_CARD))
        assert isinstance(retried, RetryScheduled)
        payment = await wait_status(core, payment_id_of(event), "SUCCEEDED")
    # The first attempt's request arriving at the provider now is refused: its key was voided.
    late = await core.providers.get("card").charge(ChargeRequest(
        idempotency_key=idempotency_key_for(payment["_id"], 1), amount=1000, currency="EUR", token=SUCCESS_CARD))
    assert not late.succeeded and late.error_code == "charge_voided"
    ledger = await books(core, order_id_of(event))
    assert [c.idempotency_key for c in ledger.charges if c.status == "succeeded"] == [f"{payment['_id']}:2"]
    assert_consistent(payment, ledger)


async def test_a_payment_failed_by_old_code_after_a_charge_is_settled_before_a_retry(
    core: PaymentsCore, service: PaymentService
) -> None:
    """Data written before outcomes were settled: FAILED (not final) although attempt 1 charged."""
    event = order_created(amount=1500)
    await service.on_order_created(event)
    payment_id = payment_id_of(event)
    await core.providers.get("card").charge(ChargeRequest(
        idempotency_key=idempotency_key_for(payment_id, 1), amount=1500, currency="EUR", token=SUCCESS_CARD,
        order_id=order_id_of(event)))
    payment = await core.store.get(payment_id)
    assert payment is not None
    failure = {"reason": "timeouts", "error_code": "provider_timeout", "final": False}
    await core.store.fail(payment_id, 1, failure=failure, reference=None, record=None, now=datetime.now(UTC),
                          event=payment_events.failed(payment, 1, reason="timeouts", error_code="provider_timeout",
                                                      final=False))
    outcome = await service.retry_payment(CUSTOMER, order_id_of(event), None)
    assert isinstance(outcome, RetryRefused) and outcome.reason == "NOT_FAILED"
    assert outcome.payment["status"] == "SUCCEEDED" and outcome.payment["captured_amount"] == 1500
    ledger = await books(core, order_id_of(event))
    assert len(ledger.charges) == 1
    assert_consistent(outcome.payment, ledger)
