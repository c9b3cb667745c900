"""Recording what the provider answered for an attempt, and what must follow from it.

- A capture is accepted only for the amount and currency asked for; any other capture is recorded as
  a FAILED payment (`amount_mismatch`, final) whose captured money is refunded at once.
- A capture is written first, then the order's state is read from the document that write returned:
  the cancel handler does the same the other way round (writes the order state, reads the payment),
  so whichever comes second sees the other, and a capture for a cancelled order is refunded in full.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from subgraphs.payments import events
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import AMOUNT_MISMATCH, OPEN_STATUSES, ORDER_CANCELLED, AttemptOutcome, OrderState
from subgraphs.payments.providers import ChargeResult
from subgraphs.payments.refunds import RefundExecutor

log = logging.getLogger(__name__)

Document = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


class ChargeOutcomes:
    def __init__(self, core: PaymentsCore) -> None:
        self.core = core
        self.refunds = RefundExecutor(core)

    async def record(
        self, payment: Document, attempt: int, result: ChargeResult, *, record: Document | None,
        from_statuses: tuple[str, ...] = OPEN_STATUSES,
    ) -> str:
        """The provider's answer for the attempt (`record`: the try's attempt record, if it was a try)."""
        if not result.succeeded:
            return await self.fail(
                payment, attempt, record, reason=result.message or "declined",
                error_code=result.error_code or "declined", final=not result.retryable_decline,
                reference=result.reference or None, statuses=from_statuses,
            )
        if (result.amount, result.currency.upper()) != (payment["amount"], payment["currency"]):
            return await self._mismatch(payment, attempt, result, record, from_statuses)
        updated = await self.core.store.succeed(
            payment["_id"], attempt, reference=result.reference, amount=result.amount, record=record,
            event=events.processed(payment, attempt, result.reference), now=_now(), from_statuses=from_statuses,
        )
        self.core.relay.notify()
        if updated is None:
            return "skipped: payment moved on"
        await self.after_capture(updated)
        return "succeeded"

    async def after_capture(self, payment: Document) -> None:
        """Money held for an order that was cancelled goes back (read after the capture's write)."""
        if payment.get("order_state") == OrderState.CANCELLED.value and int(payment.get("refundable_amount") or 0):
            log.warning("payment %s captured for cancelled order %s: refunding it", payment["_id"], payment["order_id"])
            await self.refunds.refund_rest(payment, ORDER_CANCELLED, "order cancelled")

    async def after_order_closed(self, payment: Document | None) -> None:
        """The cancel's side of the same rule (read after the order state's write)."""
        if payment is not None:
            await self.after_capture(payment)

    async def _mismatch(
        self, payment: Document, attempt: int, result: ChargeResult, record: Document | None,
        from_statuses: tuple[str, ...],
    ) -> str:
        reason = (f"the provider captured {result.amount} {result.currency} for {payment['amount']} "
                  f"{payment['currency']} asked")
        log.error("payment %s attempt %d: %s; refunding the capture", payment["_id"], attempt, reason)
        if record is not None:
            record = {**record, "outcome": AttemptOutcome.AMOUNT_MISMATCH.value, "error_code": AMOUNT_MISMATCH,
                      "message": reason}
        failure = {"reason": reason, "error_code": "amount_mismatch", "final": True}
        updated = await self.core.store.capture_mismatch(
            payment["_id"], attempt, reference=result.reference, captured=result.amount, failure=failure,
            record=record, now=_now(), from_statuses=from_statuses,
            event=events.failed(payment, attempt, reason=reason, error_code="amount_mismatch", final=True),
        )
        self.core.relay.notify()
        if updated is None:
            return "skipped: payment moved on"
        await self.refunds.refund_rest(updated, AMOUNT_MISMATCH, "the provider captured another amount")
        return "failed: amount_mismatch"

    async def fail(
        self, payment: Document, attempt: int, record: Document | None, *, reason: str, error_code: str,
        final: bool, reference: str | None = None, statuses: tuple[str, ...] = OPEN_STATUSES,
    ) -> str:
        failure = {"reason": reason, "error_code": error_code, "final": final}
        updated = await self.core.store.fail(
            payment["_id"], attempt, failure=failure, reference=reference, record=record, statuses=statuses,
            event=events.failed(payment, attempt, reason=reason, error_code=error_code, final=final), now=_now(),
        )
        self.core.relay.notify()
        return f"failed: {error_code}" if updated is not None else "skipped: payment moved on"
