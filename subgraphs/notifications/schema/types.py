"""Object types and enums: Notification (an entity of this subgraph), its contributions to Order and
User, the notification connection, and the preferences."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from subgraphs.kit.errors import NotFound
from subgraphs.kit.pagination import Connection, Edge, check_page_size, page_info
from subgraphs.kit.representations import entity_id
from subgraphs.notifications.model import Channel, Outcome, Status
from subgraphs.notifications.preferences import Preferences
from subgraphs.notifications.schema.context import Info
from subgraphs.notifications.store import encode_cursor

MAX_PAGE_SIZE = 100

NotificationChannel = strawberry.enum(Channel, name="NotificationChannel", description="Where a notification goes.")
NotificationStatus = strawberry.enum(
    Status, name="NotificationStatus", description="QUEUED until delivered (SENT) or given up (FAILED)."
)
DeliveryOutcome = strawberry.enum(
    Outcome, name="DeliveryOutcome", description="How one attempt ended: SENT, RETRY (failed, retried later), FAILED."
)


@strawberry.enum(description="The events that notify a user.")
class NotificationEventType(Enum):
    ORDER_CREATED = "order.created"
    ORDER_PAID = "order.paid"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_FULFILLED = "order.fulfilled"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"


@strawberry.type(description="One delivery attempt of a notification.")
class DeliveryAttempt:
    number: int
    at: datetime
    outcome: DeliveryOutcome  # type: ignore[valid-type]
    error: str | None


@strawberry.federation.type(keys=["id"], description="One message to one user on one channel about one event.")
class Notification:
    id: strawberry.ID
    document: strawberry.Private[dict[str, Any]]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Notification:
        return cls(id=strawberry.ID(document["_id"]), document=document)

    @classmethod
    async def resolve_reference(cls, info: Info, id: object = None, **_: object) -> Notification:
        id = entity_id(id, "Notification")
        document = await info.context.store.get(str(id))
        if document is None:
            raise NotFound(f"notification {id} does not exist")
        viewer = info.context.require_viewer()
        if document["user_id"] != viewer.user_id and not info.context.is_admin():
            raise NotFound(f"notification {id} does not exist")  # no existence leak to other users
        return cls.from_document(document)

    @strawberry.field(description="The user the notification is for.")
    def user(self) -> User:
        return User(id=strawberry.ID(self.document["user_id"]))

    @strawberry.field(description="The order the notification is about, if any.")
    def order(self) -> Order | None:
        order_id = self.document.get("order_id")
        return Order(id=strawberry.ID(order_id)) if order_id else None

    @strawberry.field(description="The event that caused the notification.")
    def event_type(self) -> NotificationEventType:
        return NotificationEventType(self.document["event_type"])

    @strawberry.field
    def event_id(self) -> strawberry.ID:
        return strawberry.ID(self.document["event_id"])

    @strawberry.field
    def channel(self) -> NotificationChannel:  # type: ignore[valid-type]
        return Channel(self.document["channel"])

    @strawberry.field(description="Email address, phone number, device token or webhook URL it was sent to.")
    def recipient(self) -> str:
        return str(self.document["recipient"])

    @strawberry.field(description="The template it was rendered from, `<event type>/<channel>`.")
    def template(self) -> str:
        return str(self.document["template"])

    @strawberry.field(description="The email subject or push title; null for SMS and webhooks.")
    def subject(self) -> str | None:
        return self.document.get("subject")

    @strawberry.field(description="The rendered plain-text body.")
    def body(self) -> str:
        return str(self.document["body"])

    @strawberry.field(description="The rendered HTML body (email only).")
    def html_body(self) -> str | None:
        return self.document.get("html")

    @strawberry.field
    def status(self) -> NotificationStatus:  # type: ignore[valid-type]
        return Status(self.document["status"])

    @strawberry.field
    def attempts(self) -> list[DeliveryAttempt]:
        return [
            DeliveryAttempt(number=a["number"], at=a["at"], outcome=Outcome(a["outcome"]), error=a.get("error"))
            for a in self.document.get("attempts") or []
        ]

    @strawberry.field
    def created_at(self) -> datetime:
        value: datetime = self.document["created_at"]
        return value

    @strawberry.field
    def sent_at(self) -> datetime | None:
        return self.document.get("sent_at")


NotificationConnection = Connection[Notification]


@strawberry.type(description="Which channels notify about one event type.")
class EventNotificationPreference:
    event_type: NotificationEventType
    channels: list[NotificationChannel] = strawberry.field(  # type: ignore[valid-type]
        description="The channels chosen (or the defaults)."
    )
    delivering_channels: list[NotificationChannel] = strawberry.field(  # type: ignore[valid-type]
        description="Those of `channels` whose contact detail is known, so they actually deliver."
    )
    is_default: bool


@strawberry.type(description="A user's contact details and channel choices.")
class NotificationPreferences:
    email: str | None
    email_from_order: bool = strawberry.field(
        description="True while the email address is the one of the user's latest order (not set by the user)."
    )
    phone: str | None
    webhook_url: str | None
    has_webhook_secret: bool = strawberry.field(
        description="Whether webhooks are signed with the user's own secret (it is never shown)."
    )
    push_device_token: str | None
    events: list[EventNotificationPreference]

    @classmethod
    def from_preferences(cls, preferences: Preferences) -> NotificationPreferences:
        events = []
        for event_type in NotificationEventType:
            wanted = preferences.wanted(event_type.value)
            delivering = {channel for channel, _ in preferences.deliveries(event_type.value)}
            events.append(EventNotificationPreference(
                event_type=event_type,
                channels=list(wanted),
                delivering_channels=[channel for channel in wanted if channel in delivering],
                is_default=preferences.is_default(event_type.value),
            ))
        return cls(
            email=preferences.email,
            email_from_order=preferences.email is not None and preferences.email_source != "user",
            phone=preferences.phone,
            webhook_url=preferences.webhook_url,
            has_webhook_secret=preferences.webhook_secret is not None,
            push_device_token=preferences.push_token,
            events=events,
        )


def _orders_loader(info: Info) -> DataLoader[str, list[Notification]]:
    """Per request: the viewer's notifications (all, for admins) of many orders in one query."""
    context = info.context
    user_filter = None if context.is_admin() else context.require_viewer().user_id

    async def load(order_ids: list[str]) -> list[list[Notification]]:
        grouped: dict[str, list[Notification]] = {order_id: [] for order_id in order_ids}
        for document in await context.store.for_orders(order_ids, user_filter):
            grouped[document["order_id"]].append(Notification.from_document(document))
        return [grouped[order_id] for order_id in order_ids]

    return DataLoader(load_fn=load)


@strawberry.federation.type(keys=["id"], description="An order (owned by the orders subgraph).")
class Order:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: object = None, **_: object) -> Order:
        return cls(id=entity_id(id, "Order"))

    @strawberry.field(description="The notifications sent about this order: the viewer's own, or all for "
                                  "notifications:admin. Oldest first.")
    async def notifications(self, info: Info) -> list[Notification] | None:
        loader: DataLoader[str, list[Notification]] = info.context.loader(
            "notifications_by_order", lambda: _orders_loader(info)
        )
        return await loader.load(str(self.id))


@strawberry.federation.type(keys=["id"], description="A user (identity from the token; owned by no subgraph).")
class User:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: object = None, **_: object) -> User:
        return cls(id=entity_id(id, "User"))

    @strawberry.field(description="The user's notifications, newest first (the user or notifications:admin).")
    async def notifications(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> NotificationConnection | None:
        info.context.require_owner_or_admin(str(self.id))
        check_page_size(first, maximum=MAX_PAGE_SIZE, extension_key="field")
        page = await info.context.store.page_for_user(str(self.id), first, after)
        edges = [Edge(cursor=encode_cursor(d), node=Notification.from_document(d)) for d in page.documents]
        return NotificationConnection(
            edges=edges,
            page_info=page_info(edges, has_next_page=page.has_next_page, after=after),
            total_count=page.total_count,
        )

    @strawberry.field(description="Contact details and channel choices (the user or notifications:admin).")
    async def notification_preferences(self, info: Info) -> NotificationPreferences | None:
        info.context.require_owner_or_admin(str(self.id))
        return NotificationPreferences.from_preferences(await info.context.store.get_preferences(str(self.id)))
