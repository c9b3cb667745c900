"""MongoDB access for orders: documents, the order-number counter, checkout attempts, listings.

Every write is a single-document atomic operation so the same code runs on MongoDB and mongomock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.kit.clock import utcnow
from subgraphs.kit.mongo import Database
from subgraphs.orders.domain import OrderStatus, StockAction

Document = dict[str, Any]

ORDER_NUMBER_COUNTER = "order_number"


@dataclass(frozen=True)
class OrderPage:
    documents: list[Document]
    has_next_page: bool


class OrderStore:
    def __init__(self, db: Database) -> None:
        self.orders = db["orders"]
        self.counters = db["counters"]
        self.checkouts = db["checkouts"]

    async def create_indexes(self) -> None:
        await self.orders.create_index([("seq", ASCENDING)], unique=True, name="seq_unique")
        await self.orders.create_index([("user_id", ASCENDING), ("seq", DESCENDING)], name="user_orders")
        await self.orders.create_index([("user_id", ASCENDING), ("status", ASCENDING), ("seq", DESCENDING)],
                                       name="user_status_orders")
        await self.orders.create_index([("status", ASCENDING), ("seq", DESCENDING)], name="status_orders")
        await self.orders.create_index([("status", ASCENDING), ("hold_expires_at", ASCENDING)], name="holds")
        await self.orders.create_index([("stock.pending", ASCENDING)], name="stock_pending", sparse=True)
        await self.orders.create_index([("lines.product_id", ASCENDING), ("seq", DESCENDING)], name="products")
        await self.checkouts.create_index([("created_at", ASCENDING)], name="checkout_age")

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
        """A page newest first. Every filter has an index whose equality fields are the filter's and
        whose last key is `seq` (seq_unique, user_orders, status_orders, user_status_orders): the page
        is read in index order from the cursor on, never sorted, never counted."""
        query = _order_filter(user_id, status)
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        cursor = self.orders.find(query, {"outbox": 0}).sort("seq", DESCENDING).limit(first + 1)
        documents = [doc async for doc in cursor]
        return OrderPage(documents=documents[:first], has_next_page=len(documents) > first)

    async def count_orders(self, *, user_id: str | None, status: OrderStatus | None) -> int:
        """How many orders match over all pages (asked only when `totalCount` is selected). Filtered,
        an exact count over the same index as the page; unfiltered (every order, for an admin), the
        collection's document count from its metadata, which does not read the orders at all."""
        query = _order_filter(user_id, status)
        if not query:
            return int(await self.orders.estimated_document_count())
        return int(await self.orders.count_documents(query))

    # --- checkout attempts (the idempotency record until the order exists) ---------------------

    async def begin_checkout(self, order_id: str, user_id: str, fingerprint: str) -> Document | None:
        """Record a checkout attempt; returns the existing attempt when there is one already."""
        try:
            await self.checkouts.insert_one(
                {"_id": order_id, "user_id": user_id, "fingerprint": fingerprint, "created_at": utcnow()}
            )
        except DuplicateKeyError:
            existing: Document | None = await self.checkouts.find_one({"_id": order_id})
            return existing
        return None

    async def end_checkout(self, order_id: str) -> None:
        await self.checkouts.delete_one({"_id": order_id})

    async def stale_checkouts(self, older_than: datetime, limit: int = 100) -> list[str]:
        cursor = self.checkouts.find({"created_at": {"$lt": older_than}}, {"_id": 1}).limit(limit)
        return [doc["_id"] async for doc in cursor]


def _order_filter(user_id: str | None, status: OrderStatus | None) -> Document:
    query: Document = {}
    if user_id is not None:
        query["user_id"] = user_id
    if status is not None:
        query["status"] = status.value
    return query
