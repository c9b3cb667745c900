"""An in-process provider that behaves like a remote one: idempotent, sometimes slow, flaky or silent.

The test token picks a behaviour (scenarios.py), the fault plan adds reproducible faults on top
(faults.py), and the ledger (a MongoDB database of its own) keeps the books.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import ConnectionFailure

from subgraphs.payments.providers.base import (
    ChargeRequest,
    ChargeResult,
    ProviderUnreachable,
    RefundRequest,
    RefundResult,
    TransientProviderError,
)
from subgraphs.payments.providers.faults import Fault, FaultPlan
from subgraphs.payments.providers.ledger import LedgerOutcome, ProviderLedger
from subgraphs.payments.providers.scenarios import Behaviour, Scenario

# A request that "never answers" sleeps this long; the caller's timeout cancels it first.
NO_ANSWER_SECONDS = 3600.0


def _now() -> datetime:
    return datetime.now(UTC)


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
        ledger_database: Any,
        slow_seconds: float,
        transient_failures: int,
        faults: FaultPlan | None = None,
    ) -> None:
        self.name = name
        self.reference_prefix = reference_prefix
        self.scenario_for = scenario_for
        self.ledger = ProviderLedger(ledger_database, name)
        self.slow_seconds = slow_seconds
        self.transient_failures = transient_failures
        self.faults = faults or FaultPlan()

    @asynccontextmanager
    async def _call(self, operation: str, key: str) -> AsyncIterator[None]:
        """One request: a flaky fault answers before any work, a lost or slow answer comes after it;
        the ledger's database being unreachable leaves the outcome unknown to the caller."""
        try:
            fault = None
            if self.faults.active:
                ordinal = await self.ledger.count(f"call:{operation}", key)
                fault = self.faults.fault_for(self.name, operation, key, ordinal)
            if fault is Fault.FLAKY:
                raise TransientProviderError("processing_error", f"temporary processing error ({operation}, injected)")
            yield
        except ConnectionFailure as exc:
            raise ProviderUnreachable("provider_unreachable", f"the {self.name} provider is unreachable") from exc
        if fault is Fault.LOSE_ANSWER:
            await asyncio.sleep(NO_ANSWER_SECONDS)  # done at the provider, the answer is lost on the way
        elif fault is Fault.SLOW:
            await asyncio.sleep(self.faults.slow_seconds)

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        scenario = self.scenario_for(request.token)
        async with self._call("charge", request.idempotency_key):
            if scenario.behaviour is Behaviour.TIMEOUT:
                await asyncio.sleep(NO_ANSWER_SECONDS)  # the request never reaches the provider's books
            captured = request.amount - 1 if scenario.behaviour is Behaviour.WRONG_AMOUNT else request.amount
            result = await self.ledger.record_charge(
                idempotency_key=request.idempotency_key,
                order_id=request.order_id,
                fingerprint=f"{request.amount}\x1f{request.currency}\x1f{request.token}",
                requested_amount=request.amount,
                captured_amount=captured,
                currency=request.currency,
                reference=f"{self.reference_prefix}_{uuid.uuid4().hex[:24]}",
                outcome=_outcome(scenario, self.transient_failures),
                now=_now(),
            )
        if not result.replayed:
            if scenario.behaviour is Behaviour.LOST_RESPONSE:
                await asyncio.sleep(NO_ANSWER_SECONDS)  # charged, but the answer is lost on the way
            elif scenario.behaviour is Behaviour.SLOW:
                await asyncio.sleep(self.slow_seconds)
        return result

    async def refund(self, request: RefundRequest) -> RefundResult:
        async with self._call("refund", request.idempotency_key):
            return await self.ledger.record_refund(
                idempotency_key=request.idempotency_key,
                charge_idempotency_key=request.charge_idempotency_key,
                fingerprint=f"{request.charge_idempotency_key}\x1f{request.amount}\x1f{request.currency}",
                amount=request.amount,
                reference=f"re_{uuid.uuid4().hex[:24]}",
                now=_now(),
            )

    async def lookup(self, idempotency_key: str) -> ChargeResult | None:
        async with self._call("lookup", idempotency_key):
            return await self.ledger.lookup(idempotency_key)

    async def resolve_charge(self, idempotency_key: str) -> ChargeResult | None:
        async with self._call("resolve", idempotency_key):
            return await self.ledger.void(idempotency_key, _now())
