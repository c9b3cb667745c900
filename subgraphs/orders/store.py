"""MongoDB access for orders: documents, the order-number counter, checkout attempts, listings.

Every write is a single-document atomic operation so the same code runs on MongoDB and mongomock.

A checkout attempt (`checkouts`, `_id` = order id) lives until the order exists. It counts the calls of
its request (`attempt`, sent to products with each reserve), `touched_at` is the last call, and the
stale-checkout sweep `claim`s it before releasing its stock; a retry takes it over (the number goes up,
the claim ends), so products refuses a sweep's release for an attempt older than the retry's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.kit.clock import utcnow
from subgraphs.kit.mongo import Database
from subgraphs.orders.domain import OrderStatus, StockAction

Document = dict[str, Any]

ORDER_NUMBER_COUNTER = "order_number"
# A sweep that claimed an attempt and died: after this, another sweep may claim it.
CLAIM_LEASE = timedelta(seconds=60)
MAX_ATTEMPT_RACES = 5


@dataclass(frozen=True)
class CheckoutAttempt:
    order_id: str
    fingerprint: str
    number: int

    @classmethod
    def from_doc(cls, doc: Document) -> CheckoutAttempt:
        return cls(doc["_id"], doc.get("fingerprint", ""), int(doc.get("attempt") or 1))


@dataclass(frozen=True)
class OrderPage:
    documents: list[Document]
    has_next_page: bool
    total_count: int


class OrderStore:
    def __init__(self, db: Database) -> None:
        self.orders = db["orders"]
        self.counters = db["counters"]
        self.checkouts = db["checkouts"]

    async def create_indexes(self) -> None:
        await self.orders.create_index([("seq", ASCENDING)], unique=True, name="seq_unique")
        await self.orders.create_index([("user_id", ASCENDING), ("seq", DESCENDING)], name="user_orders")
        await self.orders.create_index([("status", ASCENDING), ("seq", DESCENDING)], name="status_orders")
        await self.orders.create_index([("status", ASCENDING), ("hold_expires_at", ASCENDING)], name="holds")
        await self.orders.create_index([("stock.pending", ASCENDING)], name="stock_pending", sparse=True)
        await self.orders.create_index([("lines.product_id", ASCENDING), ("seq", DESCENDING)], name="products")
        await self.checkouts.create_index([("touched_at", ASCENDING)], name="checkout_touched")

    # --- orders -------------------------------------------------------------------------------

    async def next_order_sequence(self) -> int:
        counter = await self.counters.find_one_and_update(
            {"_id": ORDER_NUMBER_COUNTER},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(counter["seq"])

    async def insert_order(self, document: Document) -> bool:
        """Insert a new order; False when an order with this id already exists."""
        try:
            await self.orders.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, order_id: str) -> Document | None:
        result: Document | None = await self.orders.find_one({"_id": order_id}, {"outbox": 0})
        return result

    async def get_many(self, order_ids: list[str]) -> dict[str, Document]:
        cursor = self.orders.find({"_id": {"$in": order_ids}}, {"outbox": 0})
        return {doc["_id"]: doc async for doc in cursor}

    async def apply_transition(
        self,
        *,
        order_id: str,
        from_status: OrderStatus,
        from_version: int,
        set_fields: Document,
        timeline_entry: Document,
        outbox: Document,
    ) -> Document | None:
        """The one conditional update of a status change; None when the order moved meanwhile."""
        result: Document | None = await self.orders.find_one_and_update(
            {"_id": order_id, "status": from_status.value, "version": from_version},
            {
                "$set": set_fields,
                "$push": {"timeline": timeline_entry, "outbox": outbox},
                "$inc": {"version": 1},
            },
            projection={"outbox": 0},
            return_document=ReturnDocument.AFTER,
        )
        return result

    async def complete_stock_action(self, order_id: str, action: StockAction, state: str) -> bool:
        result = await self.orders.update_one(
            {"_id": order_id, "stock.pending": action.value},
            {"$set": {"stock.state": state, "stock.pending": None, "stock.completed_at": utcnow()}},
        )
        return bool(result.modified_count)

    async def record_stock_failure(self, order_id: str, action: StockAction, error: str) -> None:
        await self.orders.update_one(
            {"_id": order_id, "stock.pending": action.value},
            {"$set": {"stock.last_error": error[:500], "stock.last_attempt_at": utcnow()},
             "$inc": {"stock.attempts": 1}},
        )

    async def pending_stock_actions(self, limit: int = 100) -> list[Document]:
        cursor = self.orders.find({"stock.pending": {"$in": [a.value for a in StockAction]}},
                                  {"_id": 1, "stock": 1}).limit(limit)
        return [doc async for doc in cursor]

    async def expired_holds(self, now: datetime, limit: int = 100) -> list[str]:
        cursor = self.orders.find(
            {"status": OrderStatus.AWAITING_PAYMENT.value, "hold_expires_at": {"$lte": now}}, {"_id": 1}
        ).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def list_orders(
        self,
        *,
        first: int,
        before_seq: int | None,
        user_id: str | None,
        status: OrderStatus | None,
    ) -> OrderPage:
        query: Document = {}
        if user_id is not None:
            query["user_id"] = user_id
        if status is not None:
            query["status"] = status.value
        total = await self.orders.count_documents(query)
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        cursor = self.orders.find(query, {"outbox": 0}).sort("seq", DESCENDING).limit(first + 1)
        documents = [doc async for doc in cursor]
        return OrderPage(documents=documents[:first], has_next_page=len(documents) > first, total_count=total)

    # --- checkout attempts (the idempotency record until the order exists) ---------------------

    async def begin_checkout(self, order_id: str, user_id: str, fingerprint: str) -> CheckoutAttempt:
        """Record this call as the newest attempt of its request: a new attempt, or the existing one taken
        over (its number goes up, a sweep's claim on it ends). An attempt of another request under the
        same key is returned unchanged (the caller refuses the key)."""
        for _ in range(MAX_ATTEMPT_RACES):
            now = utcnow()
            try:
                await self.checkouts.insert_one({"_id": order_id, "user_id": user_id, "fingerprint": fingerprint,
                                                 "attempt": 1, "created_at": now, "touched_at": now})
                return CheckoutAttempt(order_id, fingerprint, 1)
            except DuplicateKeyError:
                pass
            taken = await self._take_over(order_id, fingerprint)
            if taken is not None:
                return CheckoutAttempt.from_doc(taken)
            other: Document | None = await self.checkouts.find_one({"_id": order_id})
            if other is not None:
                return CheckoutAttempt.from_doc(other)
        raise RuntimeError(f"checkout attempt {order_id} kept changing")

    async def raise_attempt(self, order_id: str, user_id: str, fingerprint: str, floor: int) -> int | None:
        """Take the attempt over with a number above `floor` (the highest attempt products has seen for
        the order); None when another request's attempt holds the key now."""
        for _ in range(MAX_ATTEMPT_RACES):
            await self.checkouts.update_one({"_id": order_id, "fingerprint": fingerprint},
                                            {"$max": {"attempt": floor}})
            taken = await self._take_over(order_id, fingerprint)
            if taken is not None:
                return int(taken["attempt"])
            now = utcnow()
            try:  # it ended meanwhile (a sweep finished with it): a new one, above the floor
                await self.checkouts.insert_one({"_id": order_id, "user_id": user_id, "fingerprint": fingerprint,
                                                 "attempt": floor + 1, "created_at": now, "touched_at": now})
                return floor + 1
            except DuplicateKeyError:
                other: Document | None = await self.checkouts.find_one({"_id": order_id})
                if other is not None and other.get("fingerprint") != fingerprint:
                    return None
        raise RuntimeError(f"checkout attempt {order_id} kept changing")

    async def _take_over(self, order_id: str, fingerprint: str) -> Document | None:
        result: Document | None = await self.checkouts.find_one_and_update(
            {"_id": order_id, "fingerprint": fingerprint},
            {"$inc": {"attempt": 1}, "$set": {"touched_at": utcnow()}, "$unset": {"claim": "", "claimed_at": ""}},
            return_document=ReturnDocument.AFTER,
        )
        return result

    async def checkout_intact(self, order_id: str, number: int) -> bool:
        """No other call took the attempt over and no sweep claimed or ended it since attempt `number`."""
        found = await self.checkouts.find_one({"_id": order_id, "attempt": number, "claim": {"$exists": False}},
                                              {"_id": 1})
        return found is not None

    async def end_checkout(self, order_id: str, number: int | None = None) -> None:
        """Remove the attempt; with `number`, only if no later call took it over."""
        query: Document = {"_id": order_id}
        if number is not None:
            query["attempt"] = number
        await self.checkouts.delete_one(query)

    async def stale_checkouts(self, older_than: datetime, limit: int = 100) -> list[str]:
        cursor = self.checkouts.find(_untouched_since(older_than), {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def claim_checkout(self, order_id: str, older_than: datetime, claim: str) -> CheckoutAttempt | None:
        """Claim a stale attempt for a sweep; None when a call touched it since or another sweep holds it."""
        now = utcnow()
        doc: Document | None = await self.checkouts.find_one_and_update(
            {"_id": order_id, "$and": [
                _untouched_since(older_than),
                {"$or": [{"claim": {"$exists": False}}, {"claimed_at": {"$lt": now - CLAIM_LEASE}}]},
            ]},
            {"$set": {"claim": claim, "claimed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return CheckoutAttempt.from_doc(doc) if doc is not None else None

    async def end_claimed_checkout(self, order_id: str, claim: str) -> bool:
        """Remove an attempt the sweep is done with, unless a retry took it over meanwhile."""
        result = await self.checkouts.delete_one({"_id": order_id, "claim": claim})
        return bool(result.deleted_count)


def _untouched_since(moment: datetime) -> Document:
    # Attempts recorded before `touched_at` existed count from their creation.
    return {"$or": [{"touched_at": {"$lt": moment}},
                    {"touched_at": {"$exists": False}, "created_at": {"$lt": moment}}]}
