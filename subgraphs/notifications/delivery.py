"""Delivering one notification (the arq job): send through the channel's transport, record the attempt,
retry transient failures with exponential backoff, and emit `notification.sent` through the outbox.

Before sending, the attempt is recorded as `sending`; its outcome clears it. A job that finds it left
over (the process died between sending and recording) repeats the attempt as the same message: a
transport that can tell (`delivered`: the development maildir and recorder) skips the send when the
message went out; SMTP and webhooks send again with the same Message-ID / Idempotency-Key, on which the
receiver deduplicates. The attempt is recorded with `after_unknown_outcome` "confirmed" or "resent".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.jobs import Job, JobStatus

from subgraphs.kit.clock import as_utc, utcnow
from subgraphs.kit.events import Event, outbox_entry
from subgraphs.kit.events.types import NotificationSent
from subgraphs.notifications.config import NotificationConfig
from subgraphs.notifications.model import QUEUE_NAME, SOURCE, Channel, Outcome, Status, sent_event_id
from subgraphs.notifications.store import NotificationStore, attempt_record
from subgraphs.notifications.transports.base import DeliveryError, OutgoingMessage, Transport

log = logging.getLogger(__name__)

DELIVER_JOB = "deliver_notification"


class Deliverer:
    def __init__(
        self,
        store: NotificationStore,
        transports: Mapping[Channel, Transport],
        config: NotificationConfig,
        on_sent: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.transports = transports
        self.config = config
        self.on_sent = on_sent

    async def deliver(self, notification_id: str) -> str:
        """One attempt. Returns the resulting status; raises arq `Retry` to try again later."""
        document = await self.store.get(notification_id)
        if document is None:
            log.warning("notification %s does not exist; nothing to deliver", notification_id)
            return "MISSING"
        if document["status"] != Status.QUEUED.value:
            return str(document["status"])  # a duplicate job: it was delivered (or given up) already
        attempt = len(document.get("attempts") or []) + 1
        channel = Channel(document["channel"])
        # `sending` left over: this attempt sent (or was about to) when the process died before it
        # could record the outcome. The retry repeats it as the same message.
        unknown = document.get("sending")
        if unknown is None:
            prepared_at = utcnow()
            if not await self.store.begin_send(notification_id, attempt, prepared_at):
                return await self._status(notification_id)
        else:
            prepared_at = as_utc(unknown["at"])
        message = await self._message(document, channel, attempt, prepared_at, resend=unknown is not None)
        try:
            receipt, after_crash = await self._send(self.transports[channel], message)
        except DeliveryError as exc:
            return await self._failed(document, attempt, exc)
        outcome = attempt_record(attempt, Outcome.SENT)
        outcome["receipt"] = receipt
        if after_crash is not None:
            outcome["after_unknown_outcome"] = after_crash
        sent = NotificationSent(
            notification_id=notification_id,
            user_id=document["user_id"],
            channel=channel.value,
            template=document["template"],
            order_id=document.get("order_id"),
            source_event_id=document["event_id"],
            metadata={"event_type": document["event_type"], "attempts": attempt},
        )
        event = Event(
            type=sent.TYPE, source=SOURCE, subject=f"notification:{notification_id}", data=sent.to_data(),
            id=sent_event_id(notification_id), trace_id=document.get("trace_id") or uuid.uuid4().hex,
        )
        if await self.store.mark_sent(notification_id, outcome, outbox_entry(event)) is not None:
            self.on_sent()
            log.info("sent %s (%s, attempt %d)", notification_id, document["template"], attempt)
        return Status.SENT.value

    async def _status(self, notification_id: str) -> str:
        document = await self.store.get(notification_id)
        return "MISSING" if document is None else str(document["status"])

    @staticmethod
    async def _send(transport: Transport, message: OutgoingMessage) -> tuple[str | None, str | None]:
        """(receipt, what a repeated attempt did: None, "confirmed" (it had gone out) or "resent")."""
        if not message.resend:
            return await transport.send(message), None
        delivered = getattr(transport, "delivered", None)
        if delivered is not None and await delivered(message):
            log.warning("%s went out before the process died; not sending it again", message.notification_id)
            return "delivered before an interruption", "confirmed"
        log.warning("%s may have gone out before the process died; sending it again as the same message "
                    "(Message-ID / Idempotency-Key %s)", message.notification_id, message.notification_id)
        return await transport.send(message), "resent"

    async def _message(self, document: dict[str, Any], channel: Channel, attempt: int, prepared_at: datetime,
                       *, resend: bool) -> OutgoingMessage:
        secret = None
        if channel is Channel.WEBHOOK:
            secret = (await self.store.get_preferences(document["user_id"])).webhook_secret
        return OutgoingMessage(
            notification_id=document["_id"],
            channel=channel,
            user_id=document["user_id"],
            recipient=document["recipient"],
            template=document["template"],
            event_type=document["event_type"],
            event_id=document["event_id"],
            occurred_at=document.get("occurred_at") or "",
            order_id=document.get("order_id"),
            subject=document.get("subject"),
            text=document["body"],
            html=document.get("html"),
            attempt=attempt,
            data=document.get("data") or {},
            signing_secret=secret,
            prepared_at=prepared_at,
            resend=resend,
        )

    async def _failed(self, document: dict[str, Any], attempt: int, exc: DeliveryError) -> str:
        notification_id = document["_id"]
        if exc.transient and attempt < self.config.max_attempts:
            delay = self.config.retry_delay(attempt)
            await self.store.record_retry(notification_id, attempt_record(attempt, Outcome.RETRY, str(exc)))
            log.warning("%s attempt %d failed (%s); retrying in %.2fs", notification_id, attempt, exc, delay)
            raise Retry(defer=timedelta(seconds=delay))
        await self.store.mark_failed(notification_id, attempt_record(attempt, Outcome.FAILED, str(exc)))
        log.error("%s failed after %d attempt(s): %s", notification_id, attempt, exc)
        return Status.FAILED.value


async def enqueue_delivery(pool: ArqRedis, job: str, notification_id: str) -> None:
    """Enqueue once per job id (arq ignores a job id that is queued, running or has a kept result).

    The arguments are the same for every release: the trace context is on the notification itself."""
    await pool.enqueue_job(DELIVER_JOB, notification_id, _job_id=job, _queue_name=QUEUE_NAME)


async def requeue_stale(store: NotificationStore, pool: ArqRedis, older_than: timedelta) -> int:
    """Re-enqueue QUEUED notifications whose job is gone (Redis lost it, or it ended without a verdict).

    A job that is still queued, deferred or running is left alone; a finished one's kept result is
    removed first, because arq would otherwise refuse the job id.
    """
    cutoff: datetime = utcnow() - older_than
    requeued = 0
    for document in await store.queued_before(cutoff):
        job = Job(document["job_id"], pool, _queue_name=QUEUE_NAME)
        status = await job.status()
        if status in {JobStatus.queued, JobStatus.deferred, JobStatus.in_progress}:
            continue
        if status is JobStatus.complete:
            await pool.delete(result_key_prefix + document["job_id"])
        await enqueue_delivery(pool, document["job_id"], document["_id"])
        requeued += 1
    if requeued:
        log.warning("re-enqueued %d notification(s) whose delivery job was lost", requeued)
    return requeued
