"""An in-process provider that behaves like a remote one: idempotent, sometimes slow, flaky or silent."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import redis.asyncio as aioredis

from subgraphs.payments.providers.base import ChargeRequest, ChargeResult, RefundRequest, RefundResult
from subgraphs.payments.providers.ledger import LedgerOutcome, ProviderLedger
from subgraphs.payments.providers.scenarios import Behaviour, Scenario

# A request that "never answers" sleeps this long; the caller's timeout cancels it first.
NO_ANSWER_SECONDS = 3600.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _outcome(scenario: Scenario, transient_failures: int) -> LedgerOutcome:
    match scenario.behaviour:
        case Behaviour.DECLINE:
            return LedgerOutcome("decline", scenario.error_code, scenario.message, scenario.retryable)
        case Behaviour.TRANSIENT_THEN_SUCCEED:
            return LedgerOutcome("transient", failures_before_success=transient_failures)
        case Behaviour.ALWAYS_TRANSIENT:
            return LedgerOutcome("transient", failures_before_success=2**31)
        case _:
            return LedgerOutcome("succeed")


class SimulatedProvider:
    """One provider (card or wallet): the token picks the behaviour, the ledger makes it idempotent."""

    def __init__(
        self,
        *,
        name: str,
        reference_prefix: str,
        scenario_for: Callable[[str], Scenario],
        redis: aioredis.Redis,
        slow_seconds: float,
        transient_failures: int,
    ) -> None:
        self.name = name
        self.reference_prefix = reference_prefix
        self.scenario_for = scenario_for
        self.ledger = ProviderLedger(redis, name)
        self.slow_seconds = slow_seconds
        self.transient_failures = transient_failures

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        scenario = self.scenario_for(request.token)
        if scenario.behaviour is Behaviour.TIMEOUT:
            await asyncio.sleep(NO_ANSWER_SECONDS)  # the request never reaches the provider's books
        result = await self.ledger.record_charge(
            idempotency_key=request.idempotency_key,
            fingerprint=f"{request.amount}\x1f{request.currency}\x1f{request.token}",
            amount=request.amount,
            currency=request.currency,
            reference=f"{self.reference_prefix}_{uuid.uuid4().hex[:24]}",
            outcome=_outcome(scenario, self.transient_failures),
            now_ms=_now_ms(),
        )
        if not result.replayed:
            if scenario.behaviour is Behaviour.LOST_RESPONSE:
                await asyncio.sleep(NO_ANSWER_SECONDS)  # charged, but the answer is lost on the way
            elif scenario.behaviour is Behaviour.SLOW:
                await asyncio.sleep(self.slow_seconds)
        return result

    async def refund(self, request: RefundRequest) -> RefundResult:
        return await self.ledger.record_refund(
            idempotency_key=request.idempotency_key,
            charge_idempotency_key=request.charge_idempotency_key,
            fingerprint=f"{request.charge_idempotency_key}\x1f{request.amount}\x1f{request.currency}",
            amount=request.amount,
            reference=f"re_{uuid.uuid4().hex[:24]}",
            now_ms=_now_ms(),
        )

    async def lookup(self, idempotency_key: str) -> ChargeResult | None:
        return await self.ledger.lookup(idempotency_key)
