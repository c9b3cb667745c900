"""Refunds: hold the amount on the payment (guarded), ask the provider with the refund's own
idempotency key, then complete (event in the same write) or release the hold.

A crash after the hold leaves the refund PENDING; reconciliation asks the provider again with the
same key, which cannot refund twice, and completing a refund that is not PENDING changes nothing.
`refund_rest` is how payments gives back money on its own (a capture for a cancelled order, a capture
of the wrong amount): everything still refundable, one refund per cause and state of the payment.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from subgraphs.payments import events
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import RefundStatus, idempotency_key_for, refund_id_for, system_refund_key
from subgraphs.payments.providers import ProviderError, ProviderUnreachable, RefundRequest, TransientProviderError

log = logging.getLogger(__name__)

Document = dict[str, Any]
SYSTEM_USER = "service:payments"
# refund_rest tries again this often when a concurrent refund changed what is refundable meanwhile.
MAX_REST_ROUNDS = 5


@dataclass(frozen=True)
class RefundOutcome:
    payment: Document
    refund: Document


def _refund(payment: Document, refund_id: str) -> Document:
    return next(r for r in payment.get("refunds", []) if r["id"] == refund_id)


def find_refund(payment: Document, refund_id: str) -> Document | None:
    return next((r for r in payment.get("refunds", []) if r["id"] == refund_id), None)


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
        except (TimeoutError, TransientProviderError, ProviderUnreachable) as exc:
            # Unknown or temporary: keep the hold; reconciliation retries with the same key.
            code = exc.code if isinstance(exc, ProviderError) else "provider_timeout"
            log.warning("refund %s of payment %s is pending: %s", refund["id"], payment["_id"], code)
            current = await self.core.store.get(payment["_id"]) or payment
            return RefundOutcome(current, {**_refund(current, refund["id"]), "error_code": code})
        except ProviderError as exc:
            log.error("the provider refused refund %s of payment %s: %s", refund["id"], payment["_id"], exc.code)
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

    async def resume(self, payment: Document, refund: Document) -> RefundOutcome:
        """The same refund asked for again: finish it if it is still PENDING, else report it."""
        if refund["status"] == RefundStatus.PENDING.value:
            return await self.execute(payment, refund)
        return RefundOutcome(payment, refund)

    async def refund_rest(self, payment: Document, cause: str, reason: str) -> RefundOutcome | None:
        """Refund everything still refundable (None when nothing is), once per cause and state.

        The refund key is `system:<cause>:<covered>` (covered = captured minus refundable: what was
        refunded or held when deciding), so every actor that decides from the same state (the charge's
        job, the cancel handler, reconciliation) makes the same refund, and the hold's guard keeps any
        mix of them from refunding more than was captured.
        """
        current: Document | None = payment
        for _ in range(MAX_REST_ROUNDS):
            if current is None:
                return None
            refundable = int(current.get("refundable_amount") or 0)
            if refundable <= 0:
                return None
            covered = int(current.get("captured_amount") or 0) - refundable
            refund_id = refund_id_for(current["_id"], system_refund_key(cause, covered))
            existing = find_refund(current, refund_id)
            if existing is not None:
                return await self.resume(current, existing)
            refund = new_refund(refund_id, refundable, current["attempt"], SYSTEM_USER, reason)
            held = await self.core.store.reserve_refund(current["_id"], refund, datetime.now(UTC))
            if held is not None:
                log.warning("refunding %d %s of payment %s: %s", refundable, current["currency"], current["_id"],
                            reason)
                return await self.execute(held, refund)
            current = await self.core.store.get(current["_id"])  # another refund changed the state: decide again
        log.error("payment %s: could not refund the rest (%s) after %d rounds; reconciliation tries again",
                  payment["_id"], cause, MAX_REST_ROUNDS)
        return None


def new_refund(refund_id: str, amount: int, charge_attempt: int, requested_by: str, reason: str | None) -> Document:
    return {"id": refund_id, "amount": amount, "status": RefundStatus.PENDING.value, "charge_attempt": charge_attempt,
            "requested_by": requested_by, "reason": reason, "provider_reference": None, "error_code": None,
            "created_at": datetime.now(UTC), "completed_at": None}
