"""Settling an attempt whose outcome we do not know, from the provider's books.

A try that timed out or lost its connection may have charged. Before the attempt is declared failed,
and before any new attempt (a new idempotency key) is made, the provider is asked with
`resolve_charge` under the attempt's key: a charge found is recorded as the attempt's outcome
(SUCCEEDED, or its decline); "no such charge" voids the key at the provider, so a request still on
its way cannot charge under it later, and only then may the attempt fail. When the provider cannot
answer, the payment stays open with `outcome_unknown` set: never FAILED, and retryPayment refuses it
(OUTCOME_UNKNOWN) until reconciliation or a later retry settles it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import OPEN_STATUSES, idempotency_key_for
from subgraphs.payments.outcomes import ChargeOutcomes
from subgraphs.payments.providers import ProviderError

log = logging.getLogger(__name__)

Document = dict[str, Any]
UNKNOWN = "unknown"


class AttemptSettlement:
    def __init__(self, core: PaymentsCore, outcomes: ChargeOutcomes | None = None) -> None:
        self.core = core
        self.outcomes = outcomes or ChargeOutcomes(core)

    async def settle(
        self, payment: Document, attempt: int, *, failure_if_none: dict[str, Any],
        statuses: tuple[str, ...] = OPEN_STATUSES,
    ) -> str:
        """Record what the provider has under the attempt's key; `failure_if_none` (reason, error_code,
        final) when it has nothing. Returns the outcome, or UNKNOWN when the provider could not answer."""
        provider = self.core.providers.get(payment["provider"])
        key = idempotency_key_for(payment["_id"], attempt)
        try:
            found = await asyncio.wait_for(provider.resolve_charge(key), self.core.config.provider_timeout_seconds)
        except (TimeoutError, ProviderError) as exc:
            code = exc.code if isinstance(exc, ProviderError) else "provider_timeout"
            log.warning("payment %s attempt %d: outcome still unknown (%s)", payment["_id"], attempt, code)
            await self.core.store.mark_outcome_unknown(payment["_id"], attempt, code, datetime.now(UTC))
            return UNKNOWN
        if found is None:
            return await self.outcomes.fail(payment, attempt, None, statuses=statuses, **failure_if_none)
        log.info("payment %s attempt %d settled from the provider's books (%s)", payment["_id"], attempt,
                 "charged" if found.succeeded else found.error_code)
        return await self.outcomes.record(payment, attempt, found, record=None, from_statuses=statuses)
