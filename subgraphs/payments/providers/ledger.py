"""The simulated provider's own books, in a MongoDB database of their own.

They stand for the remote provider's database: `PAYMENTS_PROVIDER_LEDGER_DATABASE` (default
`provider_ledger`) on `MONGODB_URL`, never the project's Redis, so they outlive any worker process and a
Redis restart. Collection `charges` holds one document per (provider, idempotency key), its `_id`:
the unique key makes two workers racing with one key charge once, and a key voided by
`resolve_charge` can never charge. A charge's refunds live inside it, added by one conditional update
that never lets them exceed what it captured and adds each refund key once. Collection `counters`
holds per-key counts (the flaky test methods' failures, the fault plan's call ordinals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.payments.providers.base import (
    ChargeResult,
    IdempotencyConflict,
    RefundRejected,
    RefundResult,
    TransientProviderError,
)

DEFAULT_LEDGER_DATABASE = "provider_ledger"
CHARGES = "charges"
COUNTERS = "counters"

Document = dict[str, Any]


@dataclass(frozen=True)
class LedgerOutcome:
    """How the simulated provider answers a charge, decided from the test token."""

    mode: str  # "succeed" | "decline" | "transient"
    error_code: str = ""
    message: str = ""
    retryable: bool = False
    failures_before_success: int = 0


def charge_id(provider: str, idempotency_key: str) -> str:
    return f"{provider}:{idempotency_key}"


def charge_result(record: Document, *, replayed: bool) -> ChargeResult:
    if record["status"] == "voided":
        return ChargeResult(succeeded=False, reference="", amount=0, currency=record.get("currency", ""),
                            error_code="charge_voided", message="the payment attempt was voided; nothing was charged",
                            retryable_decline=True, replayed=replayed)
    succeeded = record["status"] == "succeeded"
    return ChargeResult(
        succeeded=succeeded,
        reference=record["reference"],
        amount=int(record["amount"]),
        currency=record["currency"],
        error_code=None if succeeded else record.get("error_code") or None,
        message=None if succeeded else record.get("message") or None,
        retryable_decline=bool(record.get("retryable")),
        replayed=replayed,
    )


class ProviderLedger:
    def __init__(self, database: Any, provider: str) -> None:
        self.charges = database[CHARGES]
        self.counters = database[COUNTERS]
        self.provider = provider

    async def ensure_indexes(self) -> None:
        await self.charges.create_index([("order_id", ASCENDING)], name="by_order")
        await self.charges.create_index([("provider", ASCENDING), ("status", ASCENDING)], name="by_status")

    def _id(self, idempotency_key: str) -> str:
        return charge_id(self.provider, idempotency_key)

    async def count(self, name: str, idempotency_key: str) -> int:
        """Add one to a per-key counter and return it (1 on the first call)."""
        counter = await self.counters.find_one_and_update(
            {"_id": f"{name}:{self._id(idempotency_key)}"}, {"$inc": {"n": 1}},
            upsert=True, return_document=ReturnDocument.AFTER,
        )
        return int(counter["n"])

    # --- charges ---------------------------------------------------------------------------------

    async def record_charge(
        self, *, idempotency_key: str, order_id: str, fingerprint: str, requested_amount: int, captured_amount: int,
        currency: str, reference: str, outcome: LedgerOutcome, now: datetime,
    ) -> ChargeResult:
        """Store the first result for the key and return it; later calls replay it."""
        existing = await self.charges.find_one({"_id": self._id(idempotency_key)})
        if existing is not None:
            return self._replay(existing, fingerprint)
        mode = outcome.mode
        if mode == "transient":
            failures = await self.count("transient", idempotency_key)
            if failures <= outcome.failures_before_success:
                raise TransientProviderError("processing_error", f"temporary processing error (failure {failures})")
            mode = "succeed"
        succeeded = mode == "succeed"
        record: Document = {
            "_id": self._id(idempotency_key), "provider": self.provider, "idempotency_key": idempotency_key,
            "order_id": order_id, "status": "succeeded" if succeeded else "declined", "fingerprint": fingerprint,
            "requested_amount": requested_amount, "amount": captured_amount if succeeded else 0,
            "currency": currency, "reference": reference, "error_code": outcome.error_code,
            "message": outcome.message, "retryable": outcome.retryable, "refunded": 0, "refunds": [],
            "created_at": now,
        }
        try:
            await self.charges.insert_one(record)
        except DuplicateKeyError:  # a concurrent request with the same key won
            winner = await self.charges.find_one({"_id": self._id(idempotency_key)})
            assert winner is not None
            return self._replay(winner, fingerprint)
        return charge_result(record, replayed=False)

    @staticmethod
    def _replay(record: Document, fingerprint: str) -> ChargeResult:
        if record["status"] != "voided" and record.get("fingerprint") != fingerprint:
            raise IdempotencyConflict("idempotency_conflict", "the key was used with different parameters")
        return charge_result(record, replayed=True)

    async def lookup(self, idempotency_key: str) -> ChargeResult | None:
        record = await self.charges.find_one({"_id": self._id(idempotency_key)})
        if record is None or record["status"] == "voided":
            return None
        return charge_result(record, replayed=True)

    async def void(self, idempotency_key: str, now: datetime) -> ChargeResult | None:
        """The charge under the key, or None after making sure there never will be one (a void record)."""
        record: Document = {"_id": self._id(idempotency_key), "provider": self.provider,
                            "idempotency_key": idempotency_key, "order_id": "", "status": "voided", "amount": 0,
                            "refunded": 0, "refunds": [], "created_at": now}
        try:
            await self.charges.insert_one(record)
            return None
        except DuplicateKeyError:
            existing = await self.charges.find_one({"_id": self._id(idempotency_key)})
            assert existing is not None
            return None if existing["status"] == "voided" else charge_result(existing, replayed=True)

    # --- refunds ---------------------------------------------------------------------------------

    async def record_refund(
        self, *, idempotency_key: str, charge_idempotency_key: str, fingerprint: str, amount: int,
        reference: str, now: datetime,
    ) -> RefundResult:
        """Refund once per key, never more than the charge captured (one guarded update)."""
        charge_key = self._id(charge_idempotency_key)
        charge = await self.charges.find_one({"_id": charge_key})
        if charge is None or charge["status"] != "succeeded":
            raise RefundRejected("charge_not_found", "no successful charge to refund")
        replay = self._refund_replay(charge, idempotency_key, fingerprint)
        if replay is not None:
            return replay
        captured = int(charge["amount"])
        updated = await self.charges.find_one_and_update(
            {"_id": charge_key, "refunds.key": {"$ne": idempotency_key}, "refunded": {"$lte": captured - amount}},
            {"$inc": {"refunded": amount},
             "$push": {"refunds": {"key": idempotency_key, "amount": amount, "reference": reference,
                                   "fingerprint": fingerprint, "created_at": now}}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is not None:
            return RefundResult(reference=reference, amount=amount)
        current = await self.charges.find_one({"_id": charge_key}) or charge
        replay = self._refund_replay(current, idempotency_key, fingerprint)  # the same key, concurrently
        if replay is not None:
            return replay
        left = captured - int(current.get("refunded") or 0)
        raise RefundRejected("amount_too_large", f"at most {left} can be refunded")

    @staticmethod
    def _refund_replay(charge: Document, idempotency_key: str, fingerprint: str) -> RefundResult | None:
        existing = next((r for r in charge.get("refunds", []) if r["key"] == idempotency_key), None)
        if existing is None:
            return None
        if existing["fingerprint"] != fingerprint:
            raise IdempotencyConflict("idempotency_conflict", "the refund key was used with different parameters")
        return RefundResult(reference=existing["reference"], amount=int(existing["amount"]), replayed=True)

    # --- statements (tests, the chaos checker: see ledger_view.py) -------------------------------

    async def charge_count(self) -> int:
        """Charges that moved money (what a customer's statement would show)."""
        return int(await self.charges.count_documents({"provider": self.provider, "status": "succeeded"}))

    async def refund_count(self) -> int:
        total = 0
        async for charge in self.charges.find({"provider": self.provider, "status": "succeeded"}):
            total += len(charge.get("refunds", []))
        return total
