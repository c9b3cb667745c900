"""Turning a notifying event into notifications: one per wanted channel, rendered, stored, enqueued.

Safe to run twice for the same event (a redelivery, a crash before the consumer acked): the
notification `_id` and the arq job id are derived from (event id, channel, user id), so the second run
creates nothing and enqueues nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from subgraphs.kit.clock import utcnow
from subgraphs.kit.errors import BadUserInput
from subgraphs.kit.events import Event
from subgraphs.kit.tracing import with_context
from subgraphs.notifications import content
from subgraphs.notifications.catalog import Rendered, TemplateCatalog
from subgraphs.notifications.model import Channel, Status, job_id, notification_id
from subgraphs.notifications.preferences import validate_email
from subgraphs.notifications.store import NotificationStore

log = logging.getLogger(__name__)

# Event fields that never leave the system (a payment token is the provider's, not the user's business).
PRIVATE_EVENT_FIELDS = frozenset({"payment_token"})

Enqueue = Callable[[str, str], Awaitable[None]]  # (job id, notification id)


def webhook_data(event: Event) -> dict[str, Any]:
    return {key: value for key, value in event.data.items() if key not in PRIVATE_EVENT_FIELDS}


class Dispatcher:
    def __init__(self, store: NotificationStore, catalog: TemplateCatalog, enqueue: Enqueue, shop_name: str) -> None:
        self.store = store
        self.catalog = catalog
        self.enqueue = enqueue
        self.shop_name = shop_name

    async def handle(self, event: Event) -> None:
        """The event consumer's handler for every notifying event type."""
        data = content.parse(event)
        info = content.facts(data)
        if not info.user_id:
            log.warning("%s %s names no user; nothing to notify", event.type, event.id)
            return
        if info.order_id and info.order_number:
            await self.store.remember_order(info.order_id, info.order_number, info.user_id)
        if info.customer_email:
            await self._remember_email(info.user_id, info.customer_email)
        order_number = info.order_number
        if order_number is None and info.order_id:
            order_number = await self.store.order_number(info.order_id)
        preferences = await self.store.get_preferences(info.user_id)
        context = content.template_context(event, data, order_number=order_number, shop_name=self.shop_name)
        for channel, recipient in preferences.deliveries(event.type):
            rendered = self.catalog.render(event.type, channel, context)
            document = self._document(event, info, channel, recipient, rendered)
            created = await self.store.create(document)
            if not created:
                existing = await self.store.get(document["_id"])
                if existing is None or existing["status"] != Status.QUEUED.value:
                    continue
            await self.enqueue(document["job_id"], document["_id"])
            log.info("queued %s %s for %s (%s)", channel.value, rendered.template, info.user_id, document["_id"])

    async def _remember_email(self, user_id: str, email: str) -> None:
        try:
            address = validate_email(email)
        except BadUserInput:
            log.warning("order email %r of user %s is not a valid address; not remembered", email, user_id)
            return
        await self.store.remember_order_email(user_id, address)

    @staticmethod
    def _document(
        event: Event, info: content.EventFacts, channel: Channel, recipient: str, rendered: Rendered
    ) -> dict[str, Any]:
        moment = utcnow()
        return with_context({
            "_id": notification_id(event.id, channel, info.user_id),
            "job_id": job_id(event.id, channel, info.user_id),
            "event_id": event.id,
            "event_type": event.type,
            "occurred_at": event.occurred_at,
            "trace_id": event.trace_id,
            "user_id": info.user_id,
            "order_id": info.order_id,
            "channel": channel.value,
            "recipient": recipient,
            "template": rendered.template,
            "subject": rendered.subject,
            "body": rendered.text,
            "html": rendered.html,
            # The webhook payload carries the event's data; other channels only need the rendering.
            "data": webhook_data(event) if channel is Channel.WEBHOOK else {},
            "status": Status.QUEUED.value,
            "attempts": [],
            "outbox": [],
            "created_at": moment,
            "updated_at": moment,
            "sent_at": None,
        })
