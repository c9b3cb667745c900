"""Input types of the preferences mutation, and their validation into a store update."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry

from subgraphs.kit.errors import BadUserInput
from subgraphs.notifications.model import Channel
from subgraphs.notifications.preferences import (
    validate_channel_choices,
    validate_email,
    validate_phone,
    validate_push_token,
    validate_webhook_secret,
    validate_webhook_url,
)
from subgraphs.notifications.schema.types import NotificationChannel, NotificationEventType
from subgraphs.notifications.transports.destinations import DestinationRefused, resolve


@strawberry.input(description="The channels for one event type (an empty list switches it off).")
class EventChannelsInput:
    event_type: NotificationEventType
    channels: list[NotificationChannel]  # type: ignore[valid-type]


@strawberry.input(description="Omitted fields stay as they are; null clears a contact detail.")
class UpdateNotificationPreferencesInput:
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    webhook_url: str | None = strawberry.UNSET
    webhook_secret: str | None = strawberry.UNSET
    push_device_token: str | None = strawberry.UNSET
    events: list[EventChannelsInput] | None = strawberry.field(
        default=strawberry.UNSET, description="Replace the channels of the listed event types."
    )
    use_defaults_for: list[NotificationEventType] | None = strawberry.field(
        default=strawberry.UNSET, description="Event types that go back to the default channels."
    )


@dataclass(frozen=True)
class PreferenceChanges:
    set_fields: dict[str, Any]
    clear_fields: list[str]
    channels: dict[str, list[str]]
    reset_channels: list[str]


_CONTACT_FIELDS = (
    ("email", "email", validate_email),
    ("phone", "phone", validate_phone),
    ("webhook_url", "webhook_url", validate_webhook_url),
    ("webhook_secret", "webhook_secret", validate_webhook_secret),
    ("push_device_token", "push_token", validate_push_token),
)


def changes_from_input(data: UpdateNotificationPreferencesInput) -> PreferenceChanges:
    """Validate everything before anything is written (BAD_USER_INPUT names the field)."""
    set_fields: dict[str, Any] = {}
    clear_fields: list[str] = []
    for attribute, stored_as, validate in _CONTACT_FIELDS:
        value = getattr(data, attribute)
        if value is strawberry.UNSET:
            continue
        if value is None:
            clear_fields.append(stored_as)
        else:
            set_fields[stored_as] = validate(value)
    channels = validate_channel_choices(
        (choice.event_type.value, [Channel(c) for c in choice.channels]) for choice in (data.events or [])
    )
    defaults = [event_type.value for event_type in (data.use_defaults_for or [])]
    both = sorted(set(defaults) & set(channels))
    if both:
        raise BadUserInput(f"{', '.join(both)} cannot be both set and reset to defaults", field="useDefaultsFor")
    if not (set_fields or clear_fields or channels or defaults):
        raise BadUserInput("nothing to update: give at least one field")
    return PreferenceChanges(set_fields=set_fields, clear_fields=clear_fields, channels=channels,
                             reset_channels=list(dict.fromkeys(defaults)))


async def check_webhook_destination(url: str, *, allow_private: bool) -> None:
    """Refuse, when saving, a webhook URL whose host resolves to a non-public address (BAD_USER_INPUT).
    A host that does not resolve now is accepted: every delivery resolves and checks it again."""
    if allow_private:
        return
    try:
        await resolve(url, allow_private=False)
    except DestinationRefused as exc:
        raise BadUserInput(str(exc), field="webhookUrl") from None
    except OSError:
        return
