"""The process_payment job: one provider call for the payment's current attempt, and its outcome.

Safe to run any number of times: the provider deduplicates by the attempt's idempotency key, and
every transition is a conditional update on (status, attempt), so a stale or repeated job changes
nothing. Transient errors and timeouts raise arq's Retry with backoff until the try budget of the
attempt is spent; declines are final answers. An open circuit defers the job without spending it.
An attempt that ever reached the provider never fails without asking the provider first
(settlement.py): a timed-out try may have charged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

from arq import Retry

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.documents import payment_from_spec
from subgraphs.payments.domain import (
    OPEN_STATUSES,
    AttemptOutcome,
    OrderState,
    backoff_seconds,
    idempotency_key_for,
)
from subgraphs.payments.outcomes import ChargeOutcomes
from subgraphs.payments.providers import (
    ChargeRequest,
    ChargeResult,
    IdempotencyConflict,
    ProviderUnreachable,
    TransientProviderError,
)
from subgraphs.payments.settlement import UNKNOWN, AttemptSettlement

log = logging.getLogger(__name__)

Document = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def _attempt_record(
    attempt: int, job_try: int, outcome: AttemptOutcome, latency_ms: int, *, error_code: str | None = None,
    message: str | None = None, key: str,
) -> Document:
    return {"number": attempt, "try": job_try, "at": _now(), "outcome": outcome.value, "error_code": error_code,
            "message": message, "latency_ms": latency_ms, "idempotency_key": key}


def _charge_may_have_gone_out(payment: Document, attempt: int) -> bool:
    """A try of `attempt` was recorded, or one started (and its worker may have died mid-charge)."""
    return attempt in payment.get("sent_attempts", ()) or any(
        a["number"] == attempt for a in payment.get("attempts", ()))


class PaymentProcessor:
    def __init__(self, core: PaymentsCore, rng: random.Random | None = None) -> None:
        self.core = core
        self.rng = rng or random.Random()
        self.outcomes = ChargeOutcomes(core)
        self.settlement = AttemptSettlement(core, self.outcomes)

    async def run(self, payment_id: str, attempt: int, spec: dict[str, Any], job_try: int = 1) -> str:
        store, config = self.core.store, self.core.config
        payment = await store.get(payment_id)
        if payment is None:  # the store lost it (or the job overtook it): the job knows enough to rebuild
            payment, _ = await store.insert(payment_from_spec(spec, _now()))
            state = await store.order_state(payment["order_id"])  # read after write, as on_order_created
            if state is not OrderState.OPEN:
                payment = await store.set_order_state(payment["order_id"], state, _now()) or payment
        if payment["attempt"] != attempt or payment["status"] not in OPEN_STATUSES:
            return f"skipped: payment is {payment['status']} at attempt {payment['attempt']}"
        if payment["provider"] not in self.core.providers:
            return await self.outcomes.fail(payment, attempt, None, reason=f"unknown provider {payment['provider']!r}",
                                            error_code="unknown_provider", final=True)
        # whether an earlier try of this attempt may have reached the provider, read before this one starts
        earlier_charge = _charge_may_have_gone_out(payment, attempt)
        if payment.get("order_state", OrderState.OPEN.value) != OrderState.OPEN.value:
            return await self._order_closed(payment, attempt, may_have_charged=earlier_charge)

        breaker = self.core.breakers[payment["provider"]]
        permit = await breaker.acquire()
        if not permit.allowed:
            defer = permit.retry_after_seconds + self.rng.uniform(0, min(1.0, config.backoff_base_seconds))
            log.info("circuit of %s is open: payment %s waits %.2fs", payment["provider"], payment_id, defer)
            raise Retry(defer=defer)

        payment = await store.start_processing(payment_id, attempt, _now())
        if payment is None:
            return "skipped: payment moved on"
        if payment.get("order_state", OrderState.OPEN.value) != OrderState.OPEN.value:
            return await self._order_closed(payment, attempt, may_have_charged=earlier_charge)  # cancelled meanwhile
        key = idempotency_key_for(payment_id, attempt)
        request = ChargeRequest(idempotency_key=key, amount=payment["amount"], currency=payment["currency"],
                                token=payment["payment_token"], description=f"order {payment['order_number']}",
                                order_id=payment["order_id"])
        provider = self.core.providers.get(payment["provider"])
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(provider.charge(request), config.provider_timeout_seconds)
        except TimeoutError:
            await breaker.record_failure(permit)
            record = _attempt_record(attempt, job_try, AttemptOutcome.TIMEOUT, self._elapsed(started),
                                     error_code="provider_timeout", message="the provider did not answer", key=key)
            return await self._transient(payment, attempt, record)
        except ProviderUnreachable as exc:
            await breaker.record_failure(permit)
            record = _attempt_record(attempt, job_try, AttemptOutcome.UNKNOWN, self._elapsed(started),
                                     error_code=exc.code, message=exc.message, key=key)
            return await self._transient(payment, attempt, record)
        except TransientProviderError as exc:
            await breaker.record_failure(permit)
            record = _attempt_record(attempt, job_try, AttemptOutcome.TRANSIENT_ERROR, self._elapsed(started),
                                     error_code=exc.code, message=exc.message, key=key)
            return await self._transient(payment, attempt, record)
        except IdempotencyConflict as exc:
            await breaker.record_success(permit)
            record = _attempt_record(attempt, job_try, AttemptOutcome.DECLINED, self._elapsed(started),
                                     error_code=exc.code, message=exc.message, key=key)
            return await self.outcomes.fail(payment, attempt, record, reason=exc.message, error_code=exc.code,
                                            final=True)
        await breaker.record_success(permit)
        return await self.settle(payment, attempt, result, job_try=job_try, latency_ms=self._elapsed(started))

    async def settle(
        self, payment: Document, attempt: int, result: ChargeResult, *, job_try: int | None, latency_ms: int
    ) -> str:
        """Record the provider's answer (also used by reconciliation, with job_try=None: no new attempt)."""
        key = idempotency_key_for(payment["_id"], attempt)
        outcome = AttemptOutcome.SUCCEEDED if result.succeeded else AttemptOutcome.DECLINED
        record = None if job_try is None else _attempt_record(
            attempt, job_try, outcome, latency_ms, error_code=result.error_code, message=result.message, key=key)
        return await self.outcomes.record(payment, attempt, result, record=record)

    async def _order_closed(self, payment: Document, attempt: int, *, may_have_charged: bool) -> str:
        """No charge for a closed order; if an earlier try of this attempt may have reached the provider,
        its outcome is settled first (a capture found is kept, then refunded as the order is cancelled)."""
        failure: dict[str, Any] = {"reason": f"the order is {payment['order_state']}", "error_code": "order_closed",
                                   "final": True}
        if may_have_charged:
            return self._unknown_or(await self.settlement.settle(payment, attempt, failure_if_none=failure))
        return await self.outcomes.fail(payment, attempt, None, **failure)

    async def _transient(self, payment: Document, attempt: int, record: Document) -> str:
        config = self.core.config
        updated = await self.core.store.add_attempt(payment["_id"], attempt, record, _now())
        if updated is None:
            return "skipped: payment moved on"
        tries = sum(1 for a in updated.get("attempts", []) if a["number"] == attempt)
        if tries >= config.max_provider_tries:
            # The tries are spent; whether any of them charged only the provider's books can say.
            failure: dict[str, Any] = {
                "reason": f"the {updated['provider']} provider failed {tries} times: {record['message']}",
                "error_code": record["error_code"], "final": False}
            return self._unknown_or(await self.settlement.settle(updated, attempt, failure_if_none=failure))
        defer = backoff_seconds(tries, config.backoff_base_seconds, config.backoff_cap_seconds, self.rng)
        log.info("payment %s try %d failed (%s); retrying in %.2fs", payment["_id"], tries, record["error_code"], defer)
        raise Retry(defer=defer)

    @staticmethod
    def _unknown_or(outcome: str) -> str:
        return "outcome unknown: reconciliation settles it" if outcome == UNKNOWN else outcome

    @staticmethod
    def _elapsed(started: float) -> int:
        return int((time.monotonic() - started) * 1000)
