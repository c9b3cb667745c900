"""MongoDB access of the notifications service: notifications, preferences, and the orders it has seen.

Every write is a single-document atomic update, safe to repeat: notifications are created by upsert on
their deterministic `_id`, and status changes only apply to a notification that is still QUEUED.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.kit.clock import as_utc, utcnow
from subgraphs.kit.mongo import Database
from subgraphs.kit.pagination import CursorCodec
from subgraphs.notifications.model import Outcome, Status
from subgraphs.notifications.preferences import EMAIL_SOURCE_ORDER, EMAIL_SOURCE_USER, Preferences, storage_key

CURSORS = CursorCodec(message="`after` is not a cursor of this connection", extension_key="field")


def encode_cursor(document: dict[str, Any]) -> str:
    return CURSORS.encode([as_utc(document["created_at"]).isoformat(), document["_id"]])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    raw = CURSORS.decode(cursor)
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(part, str) for part in raw)):
        raise CURSORS.invalid()
    try:
        created_at = datetime.fromisoformat(raw[0])
    except ValueError:
        raise CURSORS.invalid() from None
    return as_utc(created_at), raw[1]


@dataclass(frozen=True)
class Page:
    documents: list[dict[str, Any]]
    has_next_page: bool
    total_count: int


def attempt_record(number: int, outcome: Outcome, error: str | None = None) -> dict[str, Any]:
    return {"number": number, "at": utcnow(), "outcome": outcome.value, "error": error}


class NotificationStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        self.notifications = database["notifications"]
        self.preferences = database["preferences"]
        self.orders = database["orders_seen"]

    async def ensure_indexes(self) -> None:
        await self.notifications.create_index(
            [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], name="by_user"
        )
        await self.notifications.create_index([("order_id", ASCENDING), ("created_at", ASCENDING)], name="by_order")
        await self.notifications.create_index([("status", ASCENDING), ("updated_at", ASCENDING)], name="by_status")
        await self.notifications.create_index("job_id", unique=True, name="job_id_unique")

    # -- notifications -------------------------------------------------------------------------

    async def create(self, document: dict[str, Any]) -> bool:
        """Insert a notification unless one with its `_id` exists; returns whether it was new."""
        try:
            fields = {key: value for key, value in document.items() if key != "_id"}
            result = await self.notifications.update_one(
                {"_id": document["_id"]}, {"$setOnInsert": fields}, upsert=True
            )
        except DuplicateKeyError:  # a concurrent upsert of the same notification won
            return False
        return result.upserted_id is not None

    async def get(self, notification_id: str) -> dict[str, Any] | None:
        document: dict[str, Any] | None = await self.notifications.find_one({"_id": notification_id})
        return document

    async def for_orders(self, order_ids: Sequence[str], user_id: str | None) -> list[dict[str, Any]]:
        """Notifications of the given orders, oldest first; only `user_id`'s unless it is None (admin)."""
        query: dict[str, Any] = {"order_id": {"$in": list(order_ids)}}
        if user_id is not None:
            query["user_id"] = user_id
        cursor = self.notifications.find(query).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        return [document async for document in cursor]

    async def page_for_user(self, user_id: str, first: int, after: str | None) -> Page:
        """Newest first, keyset-paginated on (created_at, _id)."""
        query: dict[str, Any] = {"user_id": user_id}
        total = await self.notifications.count_documents(query)
        if after:
            created_at, identifier = decode_cursor(after)
            query["$or"] = [
                {"created_at": {"$lt": created_at}},
                {"created_at": created_at, "_id": {"$lt": identifier}},
            ]
        cursor = (
            self.notifications.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(first + 1)
        )
        documents = [document async for document in cursor]
        return Page(documents=documents[:first], has_next_page=len(documents) > first, total_count=total)

    async def begin_send(self, notification_id: str, attempt: int, at: datetime) -> bool:
        """Record that attempt `attempt` is about to send (cleared by the attempt's outcome). A retry that
        finds it knows the process died between sending and recording: the message may be out already."""
        result = await self.notifications.update_one(
            {"_id": notification_id, "status": Status.QUEUED.value},
            {"$set": {"sending": {"attempt": attempt, "at": at}}},
        )
        return bool(result.matched_count)

    async def record_retry(self, notification_id: str, attempt: dict[str, Any]) -> bool:
        result = await self.notifications.update_one(
            {"_id": notification_id, "status": Status.QUEUED.value},
            {"$push": {"attempts": attempt}, "$set": {"updated_at": attempt["at"]}, "$unset": {"sending": ""}},
        )
        return bool(result.modified_count)

    async def mark_sent(
        self, notification_id: str, attempt: dict[str, Any], outbox: dict[str, Any]
    ) -> dict[str, Any] | None:
        """QUEUED -> SENT with the attempt and the `notification.sent` outbox entry, in one write."""
        document: dict[str, Any] | None = await self.notifications.find_one_and_update(
            {"_id": notification_id, "status": Status.QUEUED.value},
            {
                "$set": {"status": Status.SENT.value, "sent_at": attempt["at"], "updated_at": attempt["at"]},
                "$push": {"attempts": attempt, "outbox": outbox},
                "$unset": {"sending": ""},
            },
            return_document=ReturnDocument.AFTER,
        )
        return document

    async def mark_failed(self, notification_id: str, attempt: dict[str, Any]) -> bool:
        result = await self.notifications.update_one(
            {"_id": notification_id, "status": Status.QUEUED.value},
            {"$set": {"status": Status.FAILED.value, "updated_at": attempt["at"]}, "$push": {"attempts": attempt},
             "$unset": {"sending": ""}},
        )
        return bool(result.modified_count)

    async def queued_before(self, moment: datetime, limit: int = 500) -> list[dict[str, Any]]:
        """QUEUED notifications untouched since `moment` (their job may have been lost)."""
        cursor = self.notifications.find(
            {"status": Status.QUEUED.value, "updated_at": {"$lt": moment}}, {"job_id": 1}
        ).limit(limit)
        return [document async for document in cursor]

    # -- preferences ---------------------------------------------------------------------------

    async def get_preferences(self, user_id: str) -> Preferences:
        return Preferences.from_document(user_id, await self.preferences.find_one({"_id": user_id}))

    async def remember_order_email(self, user_id: str, email: str) -> None:
        """Keep the email of the user's latest order, unless the user chose an address themselves."""
        # When the user set their own address the filter misses and the upsert collides: it stays.
        with contextlib.suppress(DuplicateKeyError):
            await self.preferences.update_one(
                {"_id": user_id, "email_source": {"$ne": EMAIL_SOURCE_USER}},
                {"$set": {"email": email, "email_source": EMAIL_SOURCE_ORDER, "updated_at": utcnow()}},
                upsert=True,
            )

    async def update_preferences(
        self,
        user_id: str,
        changes: dict[str, Any],
        clear: Sequence[str],
        channels: dict[str, list[str]],
        reset_channels: Sequence[str] = (),
    ) -> Preferences:
        """Apply validated changes atomically: `changes` set fields, `clear` unsets them, `channels`
        replaces the choices of the listed event types (others keep theirs), `reset_channels` puts
        event types back on the defaults."""
        update: dict[str, Any] = {"$set": {"updated_at": utcnow(), **changes}}
        if "email" in changes:
            update["$set"]["email_source"] = EMAIL_SOURCE_USER
        for event_type, values in channels.items():
            update["$set"][f"channels.{storage_key(event_type)}"] = values
        unset = {name: "" for name in clear}
        for event_type in reset_channels:
            unset[f"channels.{storage_key(event_type)}"] = ""
        if "email" in unset:
            unset["email_source"] = ""
        if unset:
            update["$unset"] = unset
        document = await self.preferences.find_one_and_update(
            {"_id": user_id}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
        return Preferences.from_document(user_id, document)

    # -- the orders this service has seen (payment events carry no order number) ---------------

    async def remember_order(self, order_id: str, order_number: str, user_id: str) -> None:
        await self.orders.update_one(
            {"_id": order_id},
            {"$set": {"order_number": order_number, "user_id": user_id}},
            upsert=True,
        )

    async def order_number(self, order_id: str) -> str | None:
        document = await self.orders.find_one({"_id": order_id}, {"order_number": 1})
        return str(document["order_number"]) if document and document.get("order_number") else None
