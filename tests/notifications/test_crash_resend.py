"""A crash between sending a notification and recording it: the retry repeats the same message (same
Message-ID and Date / same Idempotency-Key) where the receiver deduplicates, and skips the send where
the transport can tell it went out (development maildir, SMS/PUSH recorder)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from subgraphs.kit.clock import as_utc, utcnow
from subgraphs.notifications.config import NotificationConfig
from subgraphs.notifications.delivery import Deliverer
from subgraphs.notifications.model import Channel
from subgraphs.notifications.store import NotificationStore
from subgraphs.notifications.transports import build_transports
from tests.notifications.conftest import SmtpServer, WebhookReceiver
from tests.notifications.support import config_env
from tests.support.mongo import TestMongo


class Crash(Exception):
    """The process dying right after the transport accepted the message."""


def notification(channel: Channel, recipient: str) -> dict[str, Any]:
    moment = utcnow()
    return {
        "_id": f"ntf_{channel.slug}", "job_id": f"notify:e1:{channel.value}:u1", "event_id": "e1",
        "event_type": "order.paid", "occurred_at": "2026-01-01T00:00:00.000Z", "trace_id": "t1", "user_id": "u1",
        "order_id": "o1", "channel": channel.value, "recipient": recipient, "template": f"order.paid/{channel.slug}",
        "subject": "Paid", "body": "Your order is paid.", "html": None, "data": {"order_id": "o1"},
        "status": "QUEUED", "attempts": [], "outbox": [], "created_at": moment, "updated_at": moment, "sent_at": None,
    }


async def deliverer_for(mongo: TestMongo, tmp_path: Path, **env: str) -> tuple[Deliverer, NotificationStore]:
    config = NotificationConfig.from_env(config_env(tmp_path, **env))
    database = mongo.database("notifications")
    store = NotificationStore(database)
    await store.ensure_indexes()
    transports = build_transports(config, database)
    for transport in transports.values():
        await transport.start()
    return Deliverer(store, transports, config), store


async def deliver_with_a_crash(deliverer: Deliverer, store: NotificationStore, monkeypatch: pytest.MonkeyPatch,
                               notification_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """First attempt: sent, then the process dies before recording it. Then the job runs again.
    Returns the notification after the crash and at the end."""
    original = store.mark_sent

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    monkeypatch.setattr(store, "mark_sent", crash)
    with pytest.raises(Crash):
        await deliverer.deliver(notification_id)
    crashed = await store.get(notification_id)
    assert crashed is not None and crashed["status"] == "QUEUED" and crashed["attempts"] == []
    monkeypatch.setattr(store, "mark_sent", original)
    assert await deliverer.deliver(notification_id) == "SENT"
    document = await store.get(notification_id)
    assert document is not None and "sending" not in document
    return crashed, document


async def test_smtp_resends_the_same_message_after_a_crash(
    mongo: TestMongo, tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliverer, store = await deliverer_for(mongo, tmp_path, SMTP_URL=smtp_server.url)
    await store.create(notification(Channel.EMAIL, "buyer@example.com"))
    crashed, document = await deliver_with_a_crash(deliverer, store, monkeypatch, "ntf_email")

    first, again = smtp_server.mailbox.messages
    assert first["Message-ID"] == again["Message-ID"] == "<ntf_email@supershop.local>"
    # The same message for a receiver deduplicating on it: its Date is when the attempt first started.
    started = as_utc(crashed["sending"]["at"])
    assert first["Date"] == again["Date"]
    assert parsedate_to_datetime(first["Date"]) == started.replace(microsecond=0)
    [attempt] = document["attempts"]
    assert (attempt["number"], attempt["outcome"], attempt["after_unknown_outcome"]) == (1, "SENT", "resent")


async def test_a_webhook_is_repeated_with_the_same_idempotency_key_after_a_crash(
    mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliverer, store = await deliverer_for(mongo, tmp_path)
    await store.create(notification(Channel.WEBHOOK, webhook.url))
    _, document = await deliver_with_a_crash(deliverer, store, monkeypatch, "ntf_webhook")

    (first, _), (again, _) = webhook.requests
    assert first["idempotency-key"] == again["idempotency-key"] == "ntf_webhook"
    assert first["x-notification-id"] == again["x-notification-id"] == "ntf_webhook"
    assert document["attempts"][0]["after_unknown_outcome"] == "resent"


@pytest.mark.parametrize(("channel", "recipient"), [(Channel.SMS, "+4915112345678"), (Channel.EMAIL, "me@example.com")])
async def test_a_transport_that_can_tell_skips_the_send_after_a_crash(
    mongo: TestMongo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, channel: Channel, recipient: str
) -> None:
    deliverer, store = await deliverer_for(mongo, tmp_path)  # recorder for SMS, development maildir for EMAIL
    transport = deliverer.transports[channel]
    sends: list[str] = []
    original_send = transport.send

    async def counting_send(message: Any) -> str | None:
        sends.append(message.notification_id)
        return await original_send(message)

    monkeypatch.setattr(transport, "send", counting_send)
    await store.create(notification(channel, recipient))
    _, document = await deliver_with_a_crash(deliverer, store, monkeypatch, f"ntf_{channel.slug}")

    assert sends == [f"ntf_{channel.slug}"]
    [attempt] = document["attempts"]
    assert (attempt["outcome"], attempt["after_unknown_outcome"]) == ("SENT", "confirmed")
