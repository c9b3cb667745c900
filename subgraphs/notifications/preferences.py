"""Notification preferences: contact details, which channels a user wants per event, and the defaults.

Defaults: EMAIL, PUSH and WEBHOOK are on for every event and SMS is off; a channel only delivers when
its contact detail is known (an email address, a device token, a webhook URL, a phone number).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from subgraphs.kit.errors import BadUserInput
from subgraphs.notifications.model import EVENT_TYPES, Channel, event_enum_name

DEFAULT_CHANNELS: frozenset[Channel] = frozenset({Channel.EMAIL, Channel.PUSH, Channel.WEBHOOK})

EMAIL_SOURCE_USER = "user"
EMAIL_SOURCE_ORDER = "order"

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def storage_key(event_type: str) -> str:
    """The key of an event type's channel choice in the preferences document (`channels.<key>`)."""
    return event_enum_name(event_type)


@dataclass(frozen=True)
class Preferences:
    user_id: str
    email: str | None = None
    email_source: str | None = None
    phone: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    push_token: str | None = None
    channels: Mapping[str, tuple[Channel, ...]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, user_id: str, document: Mapping[str, Any] | None) -> Preferences:
        if not document:
            return cls(user_id=user_id)
        # Stored under enum-style keys (ORDER_CREATED): dotted event types would nest in MongoDB paths.
        raw_channels = document.get("channels") or {}
        return cls(
            user_id=user_id,
            email=document.get("email"),
            email_source=document.get("email_source"),
            phone=document.get("phone"),
            webhook_url=document.get("webhook_url"),
            webhook_secret=document.get("webhook_secret"),
            push_token=document.get("push_token"),
            channels={
                event_type: tuple(Channel(value) for value in raw_channels[storage_key(event_type)])
                for event_type in EVENT_TYPES
                if storage_key(event_type) in raw_channels
            },
        )

    def wanted(self, event_type: str) -> tuple[Channel, ...]:
        """The channels the user wants for an event (their choice, else the defaults), in a stable order."""
        chosen = self.channels.get(event_type)
        selected = set(chosen) if chosen is not None else DEFAULT_CHANNELS
        return tuple(channel for channel in Channel if channel in selected)

    def is_default(self, event_type: str) -> bool:
        return event_type not in self.channels

    def recipient(self, channel: Channel) -> str | None:
        """Where a channel delivers to, or None when the contact detail is unknown."""
        return {
            Channel.EMAIL: self.email,
            Channel.SMS: self.phone,
            Channel.PUSH: self.push_token,
            Channel.WEBHOOK: self.webhook_url,
        }[channel]

    def deliveries(self, event_type: str) -> list[tuple[Channel, str]]:
        """(channel, recipient) for every wanted channel that can deliver."""
        return [
            (channel, recipient)
            for channel in self.wanted(event_type)
            if (recipient := self.recipient(channel)) is not None
        ]


# Validation of client input: each returns the normalised value or raises BAD_USER_INPUT.

def validate_email(value: str) -> str:
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise BadUserInput(f"{value!r} is not a valid email address", field="email")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def validate_phone(value: str) -> str:
    phone = _PHONE_SEPARATORS.sub("", value.strip())
    if not _PHONE.match(phone):
        raise BadUserInput(f"{value!r} is not a phone number in international format (e.g. +4915112345678)",
                           field="phone")
    return phone


def validate_webhook_url(value: str) -> str:
    url = value.strip()
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise BadUserInput(f"{value!r} is not a valid URL", field="webhookUrl") from None
    if parts.scheme not in {"http", "https"}:
        raise BadUserInput("the webhook URL must use http or https", field="webhookUrl")
    if not parts.hostname:
        raise BadUserInput("the webhook URL must name a host", field="webhookUrl")
    if parts.username or parts.password:
        raise BadUserInput("the webhook URL must not carry credentials; use webhookSecret", field="webhookUrl")
    if len(url) > 2048 or any(ch.isspace() for ch in url):
        raise BadUserInput("the webhook URL is too long or contains whitespace", field="webhookUrl")
    return url


def validate_webhook_secret(value: str) -> str:
    if not 16 <= len(value) <= 256 or any(ch.isspace() for ch in value):
        raise BadUserInput("the webhook secret must be 16 to 256 characters without whitespace",
                           field="webhookSecret")
    return value


def validate_push_token(value: str) -> str:
    token = value.strip()
    if not 1 <= len(token) <= 4096 or not token.isprintable() or any(ch.isspace() for ch in token):
        raise BadUserInput("the push device token must be 1 to 4096 printable characters without spaces",
                           field="pushDeviceToken")
    return token


def validate_channel_choices(choices: Iterable[tuple[str, Iterable[Channel]]]) -> dict[str, list[str]]:
    """[(event type, channels)] -> {event type: [channel values]}; each event type at most once."""
    result: dict[str, list[str]] = {}
    for event_type, channels in choices:
        if event_type not in EVENT_TYPES:
            raise BadUserInput(f"unknown event type {event_type!r}", field="events")
        if event_type in result:
            raise BadUserInput(f"{event_type} is listed more than once", field="events")
        chosen = set(channels)
        result[event_type] = [channel.value for channel in Channel if channel in chosen]
    return result
