"""Events from the real bus delivered by the service's consumer and in-process arq worker."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import orjson
import pytest

from subgraphs.kit.events import Event
from subgraphs.notifications.config import DEV_WEBHOOK_SECRET
from subgraphs.notifications.model import EVENT_TYPES, job_id, notification_id
from tests.notifications.conftest import SmtpServer, WebhookReceiver, signature_is_valid
from tests.notifications.support import EVENT_FACTORIES, Running, order_created, order_paid, payment_failed, running
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for

SECRET = "user-secret-0123456789abcdef"
ALL_CHANNELS = ["EMAIL", "SMS", "PUSH", "WEBHOOK"]


async def subscribe_everything(svc: Running, user_id: str, event_type: str, webhook_url: str) -> None:
    await svc.set_preferences(
        user_id, email="me@example.com", phone="+49 151 1234 5678", pushDeviceToken="device-token-1",
        webhookUrl=webhook_url, webhookSecret=SECRET,
        events=[{"eventType": event_type.replace(".", "_").upper(), "channels": ALL_CHANNELS}],
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
async def test_each_event_goes_out_on_every_channel_with_its_template(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver, event_type: str
) -> None:
    webhook.secret = SECRET
    async with running(redis_url, mongo, tmp_path) as svc:
        await subscribe_everything(svc, "u1", event_type, webhook.url)
        event = await svc.publish(EVENT_FACTORIES[event_type]())
        documents = await svc.wait_settled(event, 4)

        by_channel = {d["channel"]: d for d in documents}
        assert set(by_channel) == set(ALL_CHANNELS)
        for channel, document in by_channel.items():
            assert document["status"] == "SENT", document
            assert document["template"] == f"{event_type}/{channel.lower()}"
            assert document["_id"] == notification_id(event.id, document["channel"], "u1")
            assert document["job_id"] == job_id(event.id, document["channel"], "u1")
            assert "o1" in document["body"] + (document["subject"] or "")

        email_file = tmp_path / "mail" / f"{by_channel['EMAIL']['_id']}.eml"
        email = message_from_bytes(email_file.read_bytes(), policy=policy.default)
        assert email["To"] == "me@example.com" and email["Subject"] == by_channel["EMAIL"]["subject"]

        recorded = {d["channel"]: d async for d in svc.db["outbox_messages"].find({"user_id": "u1"})}
        assert recorded["SMS"]["recipient"] == "+4915112345678"
        assert recorded["SMS"]["template"] == f"{event_type}/sms"
        assert recorded["PUSH"]["recipient"] == "device-token-1"
        assert recorded["PUSH"]["subject"] == by_channel["PUSH"]["subject"]

        (headers, body), = webhook.requests
        assert signature_is_valid(SECRET, headers, body)  # the receiver (with this secret) answered 200
        payload = orjson.loads(body)
        assert payload["type"] == event_type and payload["eventId"] == event.id
        assert payload["template"] == f"{event_type}/webhook"
        assert "payment_token" not in payload["data"]


async def test_email_over_real_smtp(redis_url: str, mongo: TestMongo, tmp_path: Path, smtp_server: SmtpServer) -> None:
    async with running(redis_url, mongo, tmp_path, SMTP_URL=smtp_server.url) as svc:
        event = await svc.publish(order_created(email="buyer@example.com"))
        (document,) = await svc.wait_settled(event, 1)
        assert document["status"] == "SENT"

    (message,) = smtp_server.mailbox.messages
    assert smtp_server.mailbox.recipients == [["buyer@example.com"]]
    assert message["To"] == "buyer@example.com"
    assert message["Subject"] == "Supershop: we received your order N-o1"
    assert message["Message-ID"] == f"<{document['_id']}@supershop.local>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "2 x T-shirt <M> (TEE-M) at EUR 24.99: EUR 49.98" in text.get_content()
    assert "T-shirt &lt;M&gt;" in html.get_content() and "<strong>EUR 49.98</strong>" in html.get_content()
    assert not (tmp_path / "mail").exists()  # with SMTP_URL nothing goes to the development maildir


async def test_smtp_temporary_failure_is_retried_until_it_succeeds(
    redis_url: str, mongo: TestMongo, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    smtp_server.mailbox.replies.append("451 4.3.0 Temporary local problem, try again")
    async with running(redis_url, mongo, tmp_path, SMTP_URL=smtp_server.url) as svc:
        event = await svc.publish(order_created())
        (document,) = await svc.wait_settled(event, 1)

    assert document["status"] == "SENT"
    assert [a["outcome"] for a in document["attempts"]] == ["RETRY", "SENT"]
    assert "451" in document["attempts"][0]["error"]
    assert smtp_server.mailbox.data_commands == 2
    assert len(smtp_server.mailbox.messages) == 1


async def test_smtp_permanent_failure_is_not_retried(
    redis_url: str, mongo: TestMongo, tmp_path: Path, smtp_server: SmtpServer,
) -> None:
    smtp_server.mailbox.replies.append("554 5.7.1 Message rejected")
    async with running(redis_url, mongo, tmp_path, SMTP_URL=smtp_server.url) as svc:
        event = await svc.publish(order_created())
        (document,) = await svc.wait_settled(event, 1)

    assert document["status"] == "FAILED" and document["sent_at"] is None
    assert [a["outcome"] for a in document["attempts"]] == ["FAILED"]
    assert smtp_server.mailbox.data_commands == 1


async def test_unreachable_smtp_server_fails_after_the_last_attempt(
    redis_url: str, mongo: TestMongo, tmp_path: Path,
) -> None:
    from subgraphs.kit.embedded_redis import free_port

    async with running(redis_url, mongo, tmp_path, SMTP_URL=f"smtp://127.0.0.1:{free_port()}",
                       NOTIFICATIONS_MAX_ATTEMPTS="3") as svc:
        event = await svc.publish(order_created())
        (document,) = await svc.wait_settled(event, 1)

    assert document["status"] == "FAILED"
    assert [a["outcome"] for a in document["attempts"]] == ["RETRY", "RETRY", "FAILED"]
    assert all("connection" in a["error"].lower() for a in document["attempts"])


async def test_the_same_event_twice_gives_one_notification_and_one_message(
    redis_url: str, mongo: TestMongo, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    async with running(redis_url, mongo, tmp_path, SMTP_URL=smtp_server.url) as svc:
        event = order_created()
        assert await svc.bus.publish(event) is not None
        # Delivered again under a new stream entry (a replay), ...
        await svc.redis.xadd("events", {"type": event.type, "event": event.to_json()})
        (document,) = await svc.wait_settled(event, 1)
        # ... and handled again after a crash before the consumer recorded it, then its job enqueued again.
        assert svc.service.consumer is not None
        await svc.service.consumer.handlers[event.type](event)
        await svc.service.queue.enqueue_job("deliver_notification", document["_id"], _job_id="another-job",
                                            _queue_name="notifications")
        await wait_for(lambda: _job_done(svc, "another-job"), message="the duplicate job")
        assert len(await svc.notifications_of(event)) == 1
        assert (await svc.store.get(document["_id"]))["attempts"] == document["attempts"]  # type: ignore[index]

    assert len(smtp_server.mailbox.messages) == 1


async def _job_done(svc: Running, job: str) -> bool:
    return bool(await svc.redis.exists(f"arq:result:{job}"))


async def test_webhook_is_signed_with_the_user_secret(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    webhook.secret = SECRET  # the receiver answers 401 to a bad signature
    async with running(redis_url, mongo, tmp_path) as svc:
        await svc.set_preferences("u1", webhookUrl=webhook.url, webhookSecret=SECRET)
        event = await svc.publish(order_paid())
        documents = await svc.wait_settled(event, 1)
    assert documents[0]["channel"] == "WEBHOOK" and documents[0]["status"] == "SENT"
    (headers, body), = webhook.requests
    assert signature_is_valid(SECRET, headers, body)
    assert not signature_is_valid(DEV_WEBHOOK_SECRET, headers, body)
    assert not signature_is_valid(SECRET, headers, body + b" ")
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == headers["x-notification-id"] == documents[0]["_id"]


async def test_webhook_without_a_user_secret_uses_the_configured_one(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    webhook.secret = "configured-secret-123456"
    async with running(redis_url, mongo, tmp_path, NOTIFICATIONS_WEBHOOK_SECRET="configured-secret-123456") as svc:
        await svc.set_preferences("u1", webhookUrl=webhook.url)
        event = await svc.publish(order_paid())
        assert (await svc.wait_settled(event, 1))[0]["status"] == "SENT"
    (headers, body), = webhook.requests
    assert signature_is_valid("configured-secret-123456", headers, body)


async def test_webhook_server_error_is_retried_then_sent(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    webhook.secret = SECRET
    webhook.statuses.append(500)
    async with running(redis_url, mongo, tmp_path) as svc:
        await svc.set_preferences("u1", webhookUrl=webhook.url, webhookSecret=SECRET)
        event = await svc.publish(order_paid())
        (document,) = await svc.wait_settled(event, 1)
    assert document["status"] == "SENT"
    assert [(a["outcome"], a["error"]) for a in document["attempts"]] == [
        ("RETRY", "webhook answered HTTP 500"), ("SENT", None)
    ]
    assert len(webhook.requests) == 2
    assert [orjson.loads(body)["attempt"] for _, body in webhook.requests] == [1, 2]
    assert all(signature_is_valid(SECRET, headers, body) for headers, body in webhook.requests)


async def test_webhook_client_error_fails_without_retry(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    webhook.statuses.append(400)
    async with running(redis_url, mongo, tmp_path) as svc:
        await svc.set_preferences("u1", webhookUrl=webhook.url)
        event = await svc.publish(order_paid())
        (document,) = await svc.wait_settled(event, 1)
        assert document["status"] == "FAILED"
        assert [(a["outcome"], a["error"]) for a in document["attempts"]] == [("FAILED", "webhook answered HTTP 400")]
        # FAILED is final: the job ended without a retry.
        await wait_for(lambda: _job_done(svc, document["job_id"]), message="the delivery job to finish")
    assert len(webhook.requests) == 1


async def test_a_channel_switched_off_sends_nothing(redis_url: str, mongo: TestMongo, tmp_path: Path) -> None:
    async with running(redis_url, mongo, tmp_path) as svc:
        await svc.set_preferences("u1", events=[{"eventType": "ORDER_PAID", "channels": []}])
        created = await svc.publish(order_created())
        await svc.wait_settled(created, 1)
        paid = await svc.publish(order_paid())
        await wait_for(lambda: svc.processed(paid), message="order.paid to be processed")
        assert await svc.notifications_of(paid) == []
    assert [p.name for p in (tmp_path / "mail").glob("*.eml")] == [f"{notification_id(created.id, 'EMAIL', 'u1')}.eml"]


async def test_sms_is_off_by_default_and_push_needs_a_device_token(
    redis_url: str, mongo: TestMongo, tmp_path: Path,
) -> None:
    async with running(redis_url, mongo, tmp_path) as svc:
        await svc.set_preferences("u1", phone="+4915112345678")
        first = await svc.publish(order_created())
        assert [d["channel"] for d in await svc.wait_settled(first, 1)] == ["EMAIL"]
        await svc.set_preferences("u1", pushDeviceToken="token-abc",
                                  events=[{"eventType": "ORDER_PAID", "channels": ["SMS", "PUSH"]}])
        paid = await svc.publish(order_paid())
        assert sorted(d["channel"] for d in await svc.wait_settled(paid, 2)) == ["PUSH", "SMS"]


async def test_payment_events_name_the_order_number_seen_earlier(
    redis_url: str, mongo: TestMongo, tmp_path: Path,
) -> None:
    async with running(redis_url, mongo, tmp_path) as svc:
        await svc.wait_settled(await svc.publish(order_created()), 1)
        failed = await svc.publish(payment_failed())
        (document,) = await svc.wait_settled(failed, 1)
    assert document["subject"] == "Supershop: payment failed for order N-o1"
    assert document["recipient"] == "buyer@example.com"  # remembered from order.created


async def test_notification_sent_is_published_through_the_outbox(
    redis_url: str, mongo: TestMongo, tmp_path: Path,
) -> None:
    async with running(redis_url, mongo, tmp_path) as svc:
        event = await svc.publish(order_created())
        (document,) = await svc.wait_settled(event, 1)

        async def sent_events() -> list[Event]:
            entries = await svc.redis.xrange("events")
            events = [Event.from_json(fields["event"]) for _, fields in entries]
            return [e for e in events if e.type == "notification.sent"]

        (sent,) = await wait_for(sent_events, message="notification.sent on the bus")

        # The relay marks the entry published only after publishing it: the event may be on the bus first.
        async def marked() -> bool:
            stored = await svc.store.get(document["_id"])
            return stored is not None and all(entry["published"] for entry in stored["outbox"])

        await wait_for(marked, message="the outbox entry to be marked published")
    assert sent.data["notification_id"] == document["_id"]
    assert sent.data["source_event_id"] == event.id and sent.data["channel"] == "EMAIL"
    assert sent.data["template"] == "order.created/email" and sent.data["order_id"] == "o1"
    assert sent.trace_id == event.trace_id
    assert sent.source == "notifications"


async def test_a_lost_delivery_job_is_enqueued_again(redis_url: str, mongo: TestMongo, tmp_path: Path) -> None:
    from datetime import timedelta

    from subgraphs.notifications.delivery import requeue_stale

    async with running(redis_url, mongo, tmp_path) as svc:
        event = await svc.publish(order_created())
        (document,) = await svc.wait_settled(event, 1)
        # A notification whose job vanished (e.g. Redis lost it): QUEUED, no job anywhere.
        lost = {**document, "_id": "ntf_lost", "job_id": "notify:lost:EMAIL:u1", "status": "QUEUED",
                "attempts": [], "outbox": [], "sent_at": None}
        await svc.store.notifications.insert_one(lost)
        assert await requeue_stale(svc.store, svc.service.queue, timedelta(0)) == 1

        async def delivered() -> bool:
            found = await svc.store.get("ntf_lost")
            return found is not None and found["status"] == "SENT"

        await wait_for(delivered, message="the lost notification to be delivered")
        assert await requeue_stale(svc.store, svc.service.queue, timedelta(0)) == 0


async def test_webhooks_to_private_networks_can_be_refused(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    async with running(redis_url, mongo, tmp_path, NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE="0") as svc:
        # Saved before the rule (the mutation now refuses it, see test_webhook_ssrf): checked at delivery.
        url = webhook.url.replace("127.0.0.1", "localhost")
        await svc.store.update_preferences("u1", {"webhook_url": url}, [], {})
        event = await svc.publish(order_paid())
        (document,) = await svc.wait_settled(event, 1)
    assert document["status"] == "FAILED"
    assert "the webhook host localhost resolves to" in document["attempts"][0]["error"]
    assert "a loopback address; refused" in document["attempts"][0]["error"]
    assert webhook.requests == []


async def test_a_receiver_refusing_the_signature_fails_the_notification(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    webhook.secret = "the-receiver-expects-another-secret"
    async with running(redis_url, mongo, tmp_path) as svc:
        await svc.set_preferences("u1", webhookUrl=webhook.url, webhookSecret=SECRET)
        event = await svc.publish(order_paid())
        (document,) = await svc.wait_settled(event, 1)
    assert document["status"] == "FAILED"
    assert document["attempts"][0]["error"] == "webhook answered HTTP 401"
