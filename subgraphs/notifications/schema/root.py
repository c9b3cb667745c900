"""Root fields: `notification(id)`, `updateNotificationPreferences`. `me` is products' alone (see
docs/architecture.md, "Nullability across subgraphs"); the user's fields here are reached as a User entity."""

from __future__ import annotations

import strawberry

from subgraphs.kit.schema import federation_schema
from subgraphs.notifications.schema.context import Info
from subgraphs.notifications.schema.inputs import (
    UpdateNotificationPreferencesInput,
    changes_from_input,
    check_webhook_destination,
)
from subgraphs.notifications.schema.types import Notification, NotificationPreferences, Order, User


@strawberry.type
class Query:
    @strawberry.field(description="One notification, for its user or notifications:admin (else NOT_FOUND).")
    async def notification(self, info: Info, id: strawberry.ID) -> Notification | None:
        return await Notification.resolve_reference(info, id)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Change the signed-in user's contact details and channel choices.")
    async def update_notification_preferences(
        self, info: Info, input: UpdateNotificationPreferencesInput
    ) -> NotificationPreferences:
        viewer = info.context.require_viewer()
        changes = changes_from_input(input)
        if (webhook_url := changes.set_fields.get("webhook_url")) is not None:
            await check_webhook_destination(
                webhook_url, allow_private=info.context.config.webhook_allow_private_networks
            )
        preferences = await info.context.store.update_preferences(
            viewer.user_id, changes.set_fields, changes.clear_fields, changes.channels, changes.reset_channels
        )
        return NotificationPreferences.from_preferences(preferences)


def build_schema() -> strawberry.federation.Schema:
    return federation_schema(query=Query, mutation=Mutation, types=[Notification, Order, User])
