"""The payments collection: one document per order's payment, changed only by single-document atomic
updates whose filters are the state machine's guards (works on MongoDB and on mongomock-motor).

A payment document carries its attempts, its refunds and an outbox of events written in the same
update as the transition they describe. No update uses the positional `$` operator (mongomock applies
it to the first array element, whatever `$elemMatch` matched): a change to one refund rewrites the
`refunds` array, compare-and-set on `refunds_version`, which every write of that array increments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.kit.events import Event, outbox_entry
from subgraphs.kit.indexes import ensure_indexes, ttl
from subgraphs.payments.domain import (
    OPEN_STATUSES,
    REFUNDABLE_STATUSES,
    OrderState,
    PaymentStatus,
    RefundStatus,
    status_after_refund,
)

Document = dict[str, Any]
COLLECTION = "payments"
# How long the order states payments learned are kept (far beyond any redelivery or reconciliation).
CLOSED_ORDER_RETENTION_SECONDS = 30 * 24 * 3600
# Optimistic updates of the refunds array retry this often under contention before giving up.
MAX_CAS_ROUNDS = 50


class PaymentStore:
    def __init__(self, database: Any) -> None:
        self.collection = database[COLLECTION]
        self.closed_orders = database["closed_orders"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("order_id", ASCENDING)], unique=True, name="one_payment_per_order")
        await self.collection.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)], name="by_user")
        await self.collection.create_index([("status", ASCENDING), ("updated_at", ASCENDING)], name="by_status")
        await self.collection.create_index([("order_state", ASCENDING), ("refundable_amount", ASCENDING)],
                                           name="by_order_state")
        # Reconciliation's pending-refund sweep ($elemMatch on status and age) reads this, not every payment.
        await self.collection.create_index([("refunds.status", ASCENDING), ("refunds.created_at", ASCENDING)],
                                           name="pending_refunds")
        # What orders decided is needed while a late order.created or payment may still arrive.
        await ensure_indexes(self.closed_orders, [ttl("at", CLOSED_ORDER_RETENTION_SECONDS, "closed_orders_ttl")])

    # --- reads -------------------------------------------------------------------------------

    async def get(self, payment_id: str) -> Document | None:
        return await self.collection.find_one({"_id": payment_id})

    async def by_order_ids(self, order_ids: list[str]) -> dict[str, list[Document]]:
        found: dict[str, list[Document]] = {order_id: [] for order_id in order_ids}
        async for document in self.collection.find({"order_id": {"$in": order_ids}}):
            found[document["order_id"]].append(document)
        return found

    async def by_user(self, user_id: str, limit: int = 100) -> list[Document]:
        cursor = self.collection.find({"user_id": user_id}).sort("created_at", DESCENDING).limit(limit)
        return [document async for document in cursor]

    async def stuck(self, older_than: datetime, limit: int = 500) -> list[Document]:
        """Payments still PENDING or PROCESSING that have not moved since `older_than`."""
        cursor = self.collection.find({"status": {"$in": list(OPEN_STATUSES)}, "updated_at": {"$lt": older_than}})
        return [document async for document in cursor.limit(limit)]

    async def with_unknown_outcome(self, limit: int = 500) -> list[Document]:
        """Open payments whose current attempt may or may not have charged (every answer was lost)."""
        cursor = self.collection.find({"status": {"$in": list(OPEN_STATUSES)}, "outcome_unknown": {"$ne": None}})
        return [document async for document in cursor.limit(limit)]

    async def with_pending_refunds(self, older_than: datetime, limit: int = 500) -> list[Document]:
        query = {"refunds": {"$elemMatch": {"status": RefundStatus.PENDING.value, "created_at": {"$lt": older_than}}}}
        return [document async for document in self.collection.find(query).limit(limit)]

    async def captured_without_order(self, limit: int = 500) -> list[Document]:
        """Money still held for a cancelled order or a failed payment (a capture of the wrong amount)."""
        query = {"refundable_amount": {"$gt": 0},
                 "$or": [{"order_state": OrderState.CANCELLED.value}, {"status": PaymentStatus.FAILED.value}]}
        return [document async for document in self.collection.find(query).limit(limit)]

    async def captured_for_open_orders(self, limit: int = 500) -> list[Document]:
        query = {"refundable_amount": {"$gt": 0}, "order_state": OrderState.OPEN.value}
        return [document async for document in self.collection.find(query).limit(limit)]

    async def closed_states(self, order_ids: list[str]) -> dict[str, OrderState]:
        return {d["_id"]: OrderState(d["state"]) async for d in self.closed_orders.find({"_id": {"$in": order_ids}})}

    # --- creation ----------------------------------------------------------------------------

    async def insert(self, document: Document) -> tuple[Document, bool]:
        """Insert a new payment; when its order already has one, return that one (created=False)."""
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:
            existing = await self.collection.find_one({"order_id": document["order_id"]})
            if existing is None:  # same _id, other order: impossible with derived ids, never silent
                raise
            return existing, False
        return document, True

    # --- the charge state machine ------------------------------------------------------------

    async def start_processing(self, payment_id: str, attempt: int, now: datetime) -> Document | None:
        """PENDING/PROCESSING -> PROCESSING for the current attempt; None when the job is stale.

        `sent_attempts` remembers that a charge under this attempt's key may have gone out from here
        on, before any try is recorded: a worker killed mid-charge leaves only this trace."""
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(OPEN_STATUSES)}},
            {"$set": {"status": PaymentStatus.PROCESSING.value, "updated_at": now},
             "$addToSet": {"sent_attempts": attempt}},
            return_document=ReturnDocument.AFTER,
        )

    async def add_attempt(self, payment_id: str, attempt: int, record: Document, now: datetime) -> Document | None:
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(OPEN_STATUSES)}},
            {"$push": {"attempts": record}, "$set": {"updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def mark_outcome_unknown(self, payment_id: str, attempt: int, error_code: str, now: datetime
                                   ) -> Document | None:
        """The attempt's tries are spent and the provider could not say what happened: never FAILED,
        reconciliation (or a retryPayment) asks the provider again."""
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(OPEN_STATUSES)}},
            {"$set": {"outcome_unknown": {"attempt": attempt, "error_code": error_code, "since": now},
                      "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def succeed(
        self, payment_id: str, attempt: int, *, reference: str, amount: int, record: Document | None,
        event: Event, now: datetime, from_statuses: tuple[str, ...] = OPEN_STATUSES,
    ) -> Document | None:
        push: Document = {"outbox": outbox_entry(event)}
        if record is not None:
            push["attempts"] = record
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(from_statuses)}, "captured_amount": 0},
            {
                "$set": {"status": PaymentStatus.SUCCEEDED.value, "provider_reference": reference,
                         "captured_amount": amount, "refundable_amount": amount, "failure": None,
                         "outcome_unknown": None, "updated_at": now, "completed_at": now},
                "$push": push,
            },
            return_document=ReturnDocument.AFTER,
        )

    async def capture_mismatch(
        self, payment_id: str, attempt: int, *, reference: str, captured: int, failure: Document,
        record: Document | None, event: Event, now: datetime, from_statuses: tuple[str, ...] = OPEN_STATUSES,
    ) -> Document | None:
        """The provider captured another amount than asked: FAILED, the captured money refundable."""
        push: Document = {"outbox": outbox_entry(event)}
        if record is not None:
            push["attempts"] = record
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(from_statuses)}, "captured_amount": 0},
            {
                "$set": {"status": PaymentStatus.FAILED.value, "failure": failure, "provider_reference": reference,
                         "captured_amount": captured, "refundable_amount": captured, "outcome_unknown": None,
                         "updated_at": now, "completed_at": now},
                "$push": push,
            },
            return_document=ReturnDocument.AFTER,
        )

    async def fail(
        self, payment_id: str, attempt: int, *, failure: Document, reference: str | None, record: Document | None,
        event: Event, now: datetime, statuses: tuple[str, ...] = OPEN_STATUSES,
    ) -> Document | None:
        push: Document = {"outbox": outbox_entry(event)}
        if record is not None:
            push["attempts"] = record
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(statuses)}},
            {
                "$set": {"status": PaymentStatus.FAILED.value, "failure": failure, "provider_reference": reference,
                         "outcome_unknown": None, "updated_at": now, "completed_at": now},
                "$push": push,
            },
            return_document=ReturnDocument.AFTER,
        )

    async def reopen_for_retry(
        self, payment_id: str, attempt: int, *, method: Document | None, now: datetime
    ) -> Document | None:
        """FAILED (not final, order still open) -> PENDING with attempt + 1: one winner per attempt."""
        changes: Document = {"status": PaymentStatus.PENDING.value, "attempt": attempt + 1, "failure": None,
                             "updated_at": now, "completed_at": None}
        if method is not None:
            changes.update(method)
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": PaymentStatus.FAILED.value,
             "failure.final": False, "order_state": OrderState.OPEN.value},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )

    async def set_order_state(self, order_id: str, state: OrderState, now: datetime) -> Document | None:
        """Record what orders decided, and return the order's payment as it is after that write.

        Kept apart too (`closed_orders`), in case the order's payment is created later: its creator
        reads that after inserting the payment (write, then read: see service.on_order_created).
        """
        await self.closed_orders.update_one(
            {"_id": order_id}, {"$set": {"state": state.value, "at": now}}, upsert=True)
        return await self.collection.find_one_and_update(
            {"order_id": order_id}, {"$set": {"order_state": state.value, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def order_state(self, order_id: str) -> OrderState:
        closed = await self.closed_orders.find_one({"_id": order_id})
        return OrderState(closed["state"]) if closed else OrderState.OPEN

    # --- refunds -----------------------------------------------------------------------------

    async def reserve_refund(self, payment_id: str, refund: Document, now: datetime) -> Document | None:
        """Hold `amount` of what is still refundable: the guard makes over-refunding impossible."""
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "refundable_amount": {"$gte": refund["amount"]}, "refunds.id": {"$ne": refund["id"]}},
            {"$inc": {"refundable_amount": -refund["amount"], "refunds_version": 1}, "$push": {"refunds": refund},
             "$set": {"updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def complete_refund(
        self, payment_id: str, refund_id: str, *, reference: str, now: datetime, event_for: Any
    ) -> Document | None:
        """PENDING refund -> SUCCEEDED, adding to refunded_amount and setting the status, in one write.

        `event_for(document, refunded_total)` builds the payment.refunded event. A refund that is not
        PENDING any more (completed by a concurrent caller or an earlier reconciliation) changes nothing,
        and refunded_amount can never exceed captured_amount (checked, and guarded in the filter).
        """

        def change(current: Document, refund: Document) -> _RefundChange:
            captured, refunded = int(current.get("captured_amount") or 0), int(current.get("refunded_amount") or 0)
            total = refunded + int(refund["amount"])
            if total > captured:  # impossible with the holds; never written if it happens
                raise RuntimeError(f"refund {refund_id} would refund {total} of {captured} captured")
            status = current["status"]
            if status in REFUNDABLE_STATUSES:  # a FAILED payment (wrong amount captured) stays FAILED
                status = status_after_refund(captured, total).value
            return _RefundChange(
                refund={**refund, "status": RefundStatus.SUCCEEDED.value, "provider_reference": reference,
                        "completed_at": now},
                set={"refunded_amount": total, "status": status},
                push={"outbox": outbox_entry(event_for(current, total))},
                guard={"refunded_amount": current.get("refunded_amount", 0), "captured_amount": {"$gte": total}},
            )

        return await self._change_pending_refund(payment_id, refund_id, now, change)

    async def release_refund(
        self, payment_id: str, refund_id: str, *, error_code: str, now: datetime
    ) -> Document | None:
        """PENDING refund -> FAILED, giving its amount back to what is refundable."""

        def change(current: Document, refund: Document) -> _RefundChange:
            return _RefundChange(
                refund={**refund, "status": RefundStatus.FAILED.value, "error_code": error_code, "completed_at": now},
                inc={"refundable_amount": int(refund["amount"])},
            )

        return await self._change_pending_refund(payment_id, refund_id, now, change)

    async def _change_pending_refund(
        self, payment_id: str, refund_id: str, now: datetime, change: Callable[[Document, Document], _RefundChange]
    ) -> Document | None:
        """Replace one PENDING refund in the array (plus `change`'s other fields) by compare-and-set on
        `refunds_version`. Returns the payment after the change, or as it is when the refund is not
        PENDING any more."""
        for _ in range(MAX_CAS_ROUNDS):
            current = await self.collection.find_one({"_id": payment_id})
            if current is None:
                return None
            refunds = list(current.get("refunds", []))
            index = next((i for i, r in enumerate(refunds) if r["id"] == refund_id), None)
            if index is None or refunds[index]["status"] != RefundStatus.PENDING.value:
                return current
            planned = change(current, refunds[index])
            refunds[index] = planned.refund
            update: Document = {"$set": {**planned.set, "refunds": refunds, "updated_at": now},
                                "$inc": {**planned.inc, "refunds_version": 1}}
            if planned.push:
                update["$push"] = planned.push
            updated = await self.collection.find_one_and_update(
                # refunds_version is missing (None) on documents written before it existed
                {"_id": payment_id, "refunds_version": current.get("refunds_version"), **planned.guard},
                update, return_document=ReturnDocument.AFTER,
            )
            if updated is not None:
                return updated
        raise RuntimeError(f"refund {refund_id} of payment {payment_id} lost {MAX_CAS_ROUNDS} races")


@dataclass(frozen=True)
class _RefundChange:
    """One refund's new state, and what else the same write changes on the payment."""

    refund: Document
    set: Document = field(default_factory=dict)
    inc: Document = field(default_factory=dict)
    push: Document = field(default_factory=dict)
    guard: Document = field(default_factory=dict)
