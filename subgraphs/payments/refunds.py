"""Refunds: hold the amount on the payment (guarded), ask the provider with the refund's own
idempotency key, then complete (event in the same write) or release the hold.

A crash after the hold leaves the refund PENDING; reconciliation asks the provider again with the
same key, which cannot refund twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from subgraphs.payments import events
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import RefundStatus, idempotency_key_for
from subgraphs.payments.providers import ProviderError, RefundRequest, TransientProviderError

log = logging.getLogger(__name__)

Document = dict[str, Any]


@dataclass(frozen=True)
class RefundOutcome:
    payment: Document
    refund: Document


def _refund(payment: Document, refund_id: str) -> Document:
    return next(r for r in payment.get("refunds", []) if r["id"] == refund_id)


class RefundExecutor:
    def __init__(self, core: PaymentsCore) -> None:
        self.core = core

    async def execute(self, payment: Document, refund: Document) -> RefundOutcome:
        """Run a PENDING refund to its end (SUCCEEDED or FAILED) and return the updated payment."""
        provider = self.core.providers.get(payment["provider"])
        request = RefundRequest(
            idempotency_key=refund["id"],
            charge_idempotency_key=idempotency_key_for(payment["_id"], refund["charge_attempt"]),
            amount=refund["amount"], currency=payment["currency"],
        )
        now = datetime.now(UTC)
        try:
            result = await asyncio.wait_for(provider.refund(request), self.core.config.provider_timeout_seconds)
        except (TimeoutError, TransientProviderError) as exc:
            # Unknown or temporary: keep the hold; reconciliation retries with the same key.
            code = exc.code if isinstance(exc, ProviderError) else "provider_timeout"
            log.warning("refund %s of payment %s is pending: %s", refund["id"], payment["_id"], code)
            current = await self.core.store.get(payment["_id"]) or payment
            return RefundOutcome(current, {**_refund(current, refund["id"]), "error_code": code})
        except ProviderError as exc:
            released = await self.core.store.release_refund(payment["_id"], refund["id"], error_code=exc.code, now=now)
            current = released or payment
            return RefundOutcome(current, _refund(current, refund["id"]))
        updated = await self.core.store.complete_refund(
            payment["_id"], refund["id"], reference=result.reference, now=now,
            event_for=lambda current, total: events.refunded(current, _refund(current, refund["id"]), total),
        )
        self.core.relay.notify()
        current = updated or payment
        return RefundOutcome(current, _refund(current, refund["id"]))


def new_refund(refund_id: str, amount: int, charge_attempt: int, requested_by: str, reason: str | None) -> Document:
    return {"id": refund_id, "amount": amount, "status": RefundStatus.PENDING.value, "charge_attempt": charge_attempt,
            "requested_by": requested_by, "reason": reason, "provider_reference": None, "error_code": None,
            "created_at": datetime.now(UTC), "completed_at": None}
