"""The vocabulary of the service: channels, statuses, the events it listens to, deterministic ids."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from subgraphs.kit.events.types import (
    EventData,
    OrderCancelled,
    OrderCreated,
    OrderFulfilled,
    OrderPaid,
    PaymentFailed,
    PaymentRefunded,
)

QUEUE_NAME = "notifications"
CONSUMER_GROUP = "notifications"
SOURCE = "notifications"


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    WEBHOOK = "WEBHOOK"

    @property
    def slug(self) -> str:
        return self.value.lower()


class Status(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


class Outcome(StrEnum):
    """What one delivery attempt ended in."""

    SENT = "SENT"
    RETRY = "RETRY"
    FAILED = "FAILED"


# The events that notify a user, in the order the schema lists them.
NOTIFYING_EVENTS: tuple[type[EventData], ...] = (
    OrderCreated,
    OrderPaid,
    OrderCancelled,
    OrderFulfilled,
    PaymentFailed,
    PaymentRefunded,
)
EVENT_TYPES: tuple[str, ...] = tuple(cls.TYPE for cls in NOTIFYING_EVENTS)


def event_enum_name(event_type: str) -> str:
    """`order.created` -> `ORDER_CREATED` (the GraphQL enum value)."""
    return event_type.replace(".", "_").upper()


def job_id(event_id: str, channel: Channel | str, user_id: str) -> str:
    """The arq job id of one delivery: enqueuing it twice runs it once."""
    return f"notify:{event_id}:{Channel(channel).value}:{user_id}"


def notification_id(event_id: str, channel: Channel | str, user_id: str) -> str:
    """The notification's `_id`, derived from the same triple as its job id (opaque, fixed length)."""
    digest = hashlib.sha256(job_id(event_id, channel, user_id).encode()).hexdigest()
    return f"ntf_{digest[:32]}"


def sent_event_id(notification: str) -> str:
    """The id of the `notification.sent` event of a notification: publishing it twice publishes once."""
    return hashlib.sha256(f"notification.sent:{notification}".encode()).hexdigest()[:32]
