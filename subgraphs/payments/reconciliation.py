"""Reconciliation: compare the provider's records with payments that stopped moving, and repair them.

- PENDING/PROCESSING for longer than `stale_after`: if the provider has a completed charge for the
  attempt's idempotency key (the worker died after the provider charged), settle the payment from it
  and emit the event; otherwise, when no job for it is queued any more (lost with a Redis restart,
  dropped after arq's max tries, enqueue failed), queue a new job for the same attempt (safe: same key).
- refunds left PENDING (the API died mid-refund): ask the provider again with the refund's own key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import OPEN_STATUSES, RefundStatus, idempotency_key_for
from subgraphs.payments.processor import PaymentProcessor
from subgraphs.payments.refunds import RefundExecutor

log = logging.getLogger(__name__)


@dataclass
class ReconciliationReport:
    examined: int = 0
    settled_from_ledger: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    refunds_resumed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"examined": self.examined, "settled_from_ledger": self.settled_from_ledger,
                "requeued": self.requeued, "refunds_resumed": self.refunds_resumed}


class Reconciler:
    def __init__(self, core: PaymentsCore) -> None:
        self.core = core
        self.processor = PaymentProcessor(core)
        self.refunds = RefundExecutor(core)

    async def run_once(self, stale_after_seconds: float | None = None) -> ReconciliationReport:
        stale_after = self.core.config.stale_after_seconds if stale_after_seconds is None else stale_after_seconds
        cutoff = datetime.now(UTC) - timedelta(seconds=stale_after)
        report = ReconciliationReport()
        for payment in await self.core.store.stuck(cutoff):
            report.examined += 1
            try:
                await self._repair(payment, report)
            except Exception:
                log.exception("reconciliation of payment %s failed; next round tries again", payment["_id"])
        for payment in await self.core.store.with_pending_refunds(cutoff):
            for refund in payment.get("refunds", []):
                if refund["status"] == RefundStatus.PENDING.value and refund["created_at"] < cutoff:
                    await self.refunds.execute(payment, refund)
                    report.refunds_resumed.append(refund["id"])
        if report.settled_from_ledger or report.requeued or report.refunds_resumed:
            log.warning("reconciliation repaired payments: %s", report.as_dict())
        return report

    async def _repair(self, payment: dict[str, Any], report: ReconciliationReport) -> None:
        payment_id, attempt = str(payment["_id"]), int(payment["attempt"])
        record = None
        if payment["provider"] in self.core.providers:
            provider = self.core.providers.get(payment["provider"])
            record = await provider.lookup(idempotency_key_for(payment_id, attempt))
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
