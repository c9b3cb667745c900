"""Choosing a transport per channel from the configuration.

SMS and PUSH providers plug in by import path: `NOTIFICATIONS_SMS_TRANSPORT=package.module:factory`,
where `factory(config)` returns an object with the Transport interface.
"""

from __future__ import annotations

import importlib
from typing import Any

from subgraphs.kit.mongo import Database
from subgraphs.notifications.config import NotificationConfig
from subgraphs.notifications.model import Channel
from subgraphs.notifications.transports.base import Transport
from subgraphs.notifications.transports.email import MaildirTransport, SmtpTransport
from subgraphs.notifications.transports.recorder import OUTBOX_MESSAGES, RecordingTransport
from subgraphs.notifications.transports.webhook import WebhookTransport


def load_factory(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"a transport must be given as `module:factory`, got {spec!r}")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load the transport {spec!r}: {exc}") from exc


def build_transports(config: NotificationConfig, database: Database) -> dict[Channel, Transport]:
    email: Transport = (
        SmtpTransport(config.smtp, config.email_from) if config.smtp
        else MaildirTransport(config.maildir, config.email_from)
    )
    recorder = RecordingTransport(database[OUTBOX_MESSAGES])
    return {
        Channel.EMAIL: email,
        Channel.WEBHOOK: WebhookTransport(
            config.webhook_secret, config.webhook_timeout_seconds, config.webhook_allow_private_networks
        ),
        Channel.SMS: load_factory(config.sms_transport)(config) if config.sms_transport else recorder,
        Channel.PUSH: load_factory(config.push_transport)(config) if config.push_transport else recorder,
    }
