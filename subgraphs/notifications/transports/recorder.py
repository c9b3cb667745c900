"""Development default for SMS and PUSH: record each message in the `outbox_messages` collection
(one document per notification, so a repeated delivery records nothing new)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from subgraphs.notifications.transports.base import OutgoingMessage

OUTBOX_MESSAGES = "outbox_messages"


class RecordingTransport:
    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def start(self) -> None:
        await self.collection.create_index([("user_id", 1), ("channel", 1)])

    async def close(self) -> None:
        return None

    async def delivered(self, message: OutgoingMessage) -> bool:
        return await self.collection.find_one({"_id": message.notification_id}, {"_id": 1}) is not None

    async def send(self, message: OutgoingMessage) -> str | None:
        await self.collection.update_one(
            {"_id": message.notification_id},
            {"$setOnInsert": {
                "channel": message.channel.value,
                "user_id": message.user_id,
                "recipient": message.recipient,
                "template": message.template,
                "subject": message.subject,
                "text": message.text,
                "recorded_at": datetime.now(UTC),
            }},
            upsert=True,
        )
        return f"recorded in {OUTBOX_MESSAGES}"
