"""Reconciliation: compare the provider's records with payments that stopped moving, and repair them.

Every repair is idempotent: a pass run any number of times changes nothing more once things agree.

- outcome unknown (every answer of an attempt was lost): settle it from the provider (settlement.py).
- PENDING/PROCESSING for longer than `stale_after`: if the provider has a completed charge for the
  attempt's idempotency key (the worker died after the provider charged), settle the payment from it
  and emit the event; otherwise, when no job for it is queued any more (lost with a Redis restart,
  dropped after arq's max tries, enqueue failed), queue a new job for the same attempt (safe: same key).
- refunds left PENDING (the API died mid-refund): ask the provider again with the refund's own key; a
  refund the provider made is completed once (completing a refund that is not PENDING changes nothing).
- captured money with no paid order behind it (order cancelled, capture of the wrong amount), also
  when the payment missed the order's cancellation (`closed_orders` says so): refunded in full.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import (
    AMOUNT_MISMATCH,
    OPEN_STATUSES,
    ORDER_CANCELLED,
    OrderState,
    PaymentStatus,
    RefundStatus,
    idempotency_key_for,
)
from subgraphs.payments.processor import PaymentProcessor
from subgraphs.payments.refunds import RefundExecutor
from subgraphs.payments.settlement import UNKNOWN

log = logging.getLogger(__name__)

Document = dict[str, Any]


@dataclass
class ReconciliationReport:
    examined: int = 0
    settled_from_ledger: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    refunds_resumed: list[str] = field(default_factory=list)
    outcomes_resolved: list[str] = field(default_factory=list)
    refunds_issued: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> bool:
        return bool(self.settled_from_ledger or self.requeued or self.refunds_resumed or self.outcomes_resolved
                    or self.refunds_issued)

    def as_dict(self) -> dict[str, object]:
        return {"examined": self.examined, "settled_from_ledger": self.settled_from_ledger,
                "requeued": self.requeued, "refunds_resumed": self.refunds_resumed,
                "outcomes_resolved": self.outcomes_resolved, "refunds_issued": self.refunds_issued}


class Reconciler:
    def __init__(self, core: PaymentsCore) -> None:
        self.core = core
        self.processor = PaymentProcessor(core)
        self.refunds = RefundExecutor(core)

    async def run_once(self, stale_after_seconds: float | None = None) -> ReconciliationReport:
        stale_after = self.core.config.stale_after_seconds if stale_after_seconds is None else stale_after_seconds
        cutoff = datetime.now(UTC) - timedelta(seconds=stale_after)
        report = ReconciliationReport()
        store = self.core.store
        await self._each(await store.with_unknown_outcome(), report, self._settle_unknown)
        await self._each(await store.stuck(cutoff), report, self._repair)
        for payment in await store.with_pending_refunds(cutoff):
            for refund in payment.get("refunds", []):
                if refund["status"] == RefundStatus.PENDING.value and refund["created_at"] < cutoff:
                    await self.refunds.execute(payment, refund)
                    report.refunds_resumed.append(refund["id"])
        await self._adopt_cancellations()
        await self._each(await store.captured_without_order(), report, self._refund_orphan)
        if report.repaired:
            log.warning("reconciliation repaired payments: %s", report.as_dict())
        return report

    async def _each(self, payments: list[Document], report: ReconciliationReport, repair: Any) -> None:
        for payment in payments:
            report.examined += 1
            try:
                await repair(payment, report)
            except Exception:
                log.exception("reconciliation of payment %s failed; next round tries again", payment["_id"])

    async def _settle_unknown(self, payment: Document, report: ReconciliationReport) -> None:
        unknown = payment["outcome_unknown"]
        failure = {"reason": "the provider never answered and has no charge for the attempt",
                   "error_code": unknown.get("error_code") or "provider_timeout", "final": False}
        outcome = await self.processor.settlement.settle(payment, int(unknown["attempt"]), failure_if_none=failure)
        if outcome != UNKNOWN and not outcome.startswith("skipped"):
            report.outcomes_resolved.append(str(payment["_id"]))

    async def _repair(self, payment: Document, report: ReconciliationReport) -> None:
        if payment.get("outcome_unknown"):
            return  # settled above (or the provider still cannot say)
        payment_id, attempt = str(payment["_id"]), int(payment["attempt"])
        record = None
        if payment["provider"] in self.core.providers:
            provider = self.core.providers.get(payment["provider"])
            # bounded like every provider call: an unanswered lookup is retried next round, and must not
            # hold the pass (a job's timeout would cut it; a direct caller would wait for ever)
            record = await asyncio.wait_for(
                provider.lookup(idempotency_key_for(payment_id, attempt)), self.core.config.provider_timeout_seconds
            )
        if record is not None:
            outcome = await self.processor.settle(payment, attempt, record, job_try=None, latency_ms=0)
            if not outcome.startswith("skipped"):
                report.settled_from_ledger.append(payment_id)
            return
        if await self.core.job_is_queued(str(payment["job_id"])):
            return  # its job is still queued, deferred or running: nothing is lost
        claimed = await self.core.store.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(OPEN_STATUSES)},
             "updated_at": payment["updated_at"]},
            {"$inc": {"reconcile_round": 1}, "$set": {"updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )
        if claimed is None:
            return  # it moved meanwhile, or another reconciler took it
        job_id = f"{payment['job_id']}:r{claimed['reconcile_round']}"
        await self.core.store.collection.update_one(
            {"_id": payment_id, "attempt": attempt}, {"$set": {"job_id": job_id}})
        claimed["job_id"] = job_id
        await self.core.enqueue(claimed)
        report.requeued.append(payment_id)

    async def _adopt_cancellations(self) -> None:
        """Captured payments still marked OPEN whose order orders cancelled (the payment missed it)."""
        captured = await self.core.store.captured_for_open_orders()
        states = await self.core.store.closed_states([p["order_id"] for p in captured])
        for payment in captured:
            if states.get(payment["order_id"]) is OrderState.CANCELLED:
                await self.core.store.set_order_state(payment["order_id"], OrderState.CANCELLED, datetime.now(UTC))

    async def _refund_orphan(self, payment: Document, report: ReconciliationReport) -> None:
        if any(r["status"] == RefundStatus.PENDING.value for r in payment.get("refunds", [])):
            return  # a refund is on its way; the pending-refunds pass finishes it
        if payment.get("order_state") == OrderState.CANCELLED.value:
            cause, reason = ORDER_CANCELLED, "order cancelled"
        elif payment["status"] == PaymentStatus.FAILED.value:
            cause, reason = AMOUNT_MISMATCH, "the provider captured another amount"
        else:
            return
        outcome = await self.refunds.refund_rest(payment, cause, reason)
        if outcome is None:
            return
        if outcome.refund["status"] == RefundStatus.FAILED.value:
            log.error("payment %s: the provider refused refund %s (%s); an operator must look at it",
                      payment["_id"], outcome.refund["id"], outcome.refund.get("error_code"))
            return
        report.refunds_issued.append(outcome.refund["id"])
