"""The payments collection: one document per order's payment, changed only by single-document atomic
updates whose filters are the state machine's guards (works on MongoDB and on mongomock-motor).

A payment document carries its attempts, its refunds and an outbox of events written in the same
update as the transition they describe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.kit.events import Event, outbox_entry
from subgraphs.payments.domain import OPEN_STATUSES, REFUNDABLE_STATUSES, OrderState, PaymentStatus, RefundStatus

Document = dict[str, Any]
COLLECTION = "payments"
# Optimistic updates of refund totals retry this often under contention before giving up.
MAX_CAS_ROUNDS = 20


class PaymentStore:
    def __init__(self, database: Any) -> None:
        self.collection = database[COLLECTION]
        self.closed_orders = database["closed_orders"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("order_id", ASCENDING)], unique=True, name="one_payment_per_order")
        await self.collection.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)], name="by_user")
        await self.collection.create_index([("status", ASCENDING), ("updated_at", ASCENDING)], name="by_status")

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

    async def with_pending_refunds(self, older_than: datetime, limit: int = 500) -> list[Document]:
        query = {"refunds": {"$elemMatch": {"status": RefundStatus.PENDING.value, "created_at": {"$lt": older_than}}}}
        return [document async for document in self.collection.find(query).limit(limit)]

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
        """PENDING/PROCESSING -> PROCESSING for the current attempt; None when the job is stale."""
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(OPEN_STATUSES)}},
            {"$set": {"status": PaymentStatus.PROCESSING.value, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def add_attempt(self, payment_id: str, attempt: int, record: Document, now: datetime) -> Document | None:
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(OPEN_STATUSES)}},
            {"$push": {"attempts": record}, "$set": {"updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def succeed(
        self, payment_id: str, attempt: int, *, reference: str, amount: int, record: Document | None,
        event: Event, now: datetime,
    ) -> Document | None:
        push: Document = {"outbox": outbox_entry(event)}
        if record is not None:
            push["attempts"] = record
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(OPEN_STATUSES)}},
            {
                "$set": {"status": PaymentStatus.SUCCEEDED.value, "provider_reference": reference,
                         "captured_amount": amount, "refundable_amount": amount, "failure": None,
                         "updated_at": now, "completed_at": now},
                "$push": push,
            },
            return_document=ReturnDocument.AFTER,
        )

    async def fail(
        self, payment_id: str, attempt: int, *, failure: Document, reference: str | None, record: Document | None,
        event: Event, now: datetime,
    ) -> Document | None:
        push: Document = {"outbox": outbox_entry(event)}
        if record is not None:
            push["attempts"] = record
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "attempt": attempt, "status": {"$in": list(OPEN_STATUSES)}},
            {
                "$set": {"status": PaymentStatus.FAILED.value, "failure": failure, "provider_reference": reference,
                         "updated_at": now, "completed_at": now},
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

    async def set_order_state(self, order_id: str, state: OrderState, now: datetime) -> None:
        """Record what orders decided; kept apart too, in case the order's payment is created later."""
        await self.closed_orders.update_one(
            {"_id": order_id}, {"$set": {"state": state.value, "at": now}}, upsert=True)
        await self.collection.update_one(
            {"order_id": order_id, "order_state": {"$ne": state.value}},
            {"$set": {"order_state": state.value, "updated_at": now}},
        )

    async def order_state(self, order_id: str) -> OrderState:
        closed = await self.closed_orders.find_one({"_id": order_id})
        return OrderState(closed["state"]) if closed else OrderState.OPEN

    # --- refunds -----------------------------------------------------------------------------

    async def reserve_refund(self, payment_id: str, refund: Document, now: datetime) -> Document | None:
        """Hold `amount` of what is still refundable: the guard makes over-refunding impossible."""
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "status": {"$in": list(REFUNDABLE_STATUSES)},
             "refundable_amount": {"$gte": refund["amount"]}, "refunds.id": {"$ne": refund["id"]}},
            {"$inc": {"refundable_amount": -refund["amount"]}, "$push": {"refunds": refund},
             "$set": {"updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    async def complete_refund(
        self, payment_id: str, refund_id: str, *, reference: str, now: datetime, event_for: Any
    ) -> Document | None:
        """PENDING refund -> SUCCEEDED, adding to refunded_amount and setting the status, in one write.

        Compare-and-set on refunded_amount, since the new status depends on the total.
        `event_for(document, refunded_total)` builds the payment.refunded event.
        """
        for _ in range(MAX_CAS_ROUNDS):
            current = await self.collection.find_one({"_id": payment_id})
            if current is None:
                return None
            refund = next((r for r in current.get("refunds", []) if r["id"] == refund_id), None)
            if refund is None or refund["status"] != RefundStatus.PENDING.value:
                return current
            total = int(current.get("refunded_amount") or 0) + int(refund["amount"])
            status = PaymentStatus.REFUNDED if total >= current["captured_amount"] else PaymentStatus.PARTIALLY_REFUNDED
            updated = await self.collection.find_one_and_update(
                {"_id": payment_id, "refunded_amount": current.get("refunded_amount", 0),
                 "refunds": {"$elemMatch": {"id": refund_id, "status": RefundStatus.PENDING.value}}},
                {
                    "$set": {"refunded_amount": total, "status": status.value, "updated_at": now,
                             "refunds.$.status": RefundStatus.SUCCEEDED.value,
                             "refunds.$.provider_reference": reference, "refunds.$.completed_at": now},
                    "$push": {"outbox": outbox_entry(event_for(current, total))},
                },
                return_document=ReturnDocument.AFTER,
            )
            if updated is not None:
                return updated
        raise RuntimeError(f"refund {refund_id} of payment {payment_id} lost {MAX_CAS_ROUNDS} races")

    async def release_refund(
        self, payment_id: str, refund_id: str, *, error_code: str, now: datetime
    ) -> Document | None:
        """PENDING refund -> FAILED, giving its amount back to what is refundable."""
        current = await self.get(payment_id)
        refund = next((r for r in (current or {}).get("refunds", []) if r["id"] == refund_id), None)
        if refund is None or refund["status"] != RefundStatus.PENDING.value:
            return current
        amount = int(refund["amount"])
        return await self.collection.find_one_and_update(
            {"_id": payment_id, "refunds": {"$elemMatch": {"id": refund_id, "status": RefundStatus.PENDING.value}}},
            {"$set": {"refunds.$.status": RefundStatus.FAILED.value, "refunds.$.error_code": error_code,
                      "refunds.$.completed_at": now, "updated_at": now},
             "$inc": {"refundable_amount": amount}},
            return_document=ReturnDocument.AFTER,
        )
