"""The transport interface every channel implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from subgraphs.notifications.model import Channel


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered notification on its way out; `notification_id` doubles as the idempotency key
    receivers can deduplicate on (email Message-ID, webhook `Idempotency-Key`), the same on every
    retry. `prepared_at` is when this attempt first started: the same again when the attempt is
    repeated after a crash (`resend`), so a re-sent email is the same message, Date included."""

    notification_id: str
    channel: Channel
    user_id: str
    recipient: str
    template: str
    event_type: str
    event_id: str
    occurred_at: str
    order_id: str | None
    subject: str | None
    text: str
    html: str | None = None
    attempt: int = 1
    data: dict[str, Any] = field(default_factory=dict)
    signing_secret: str | None = None
    prepared_at: datetime | None = None
    resend: bool = False


class DeliveryError(Exception):
    """A delivery that did not succeed. `transient` failures are retried with backoff, others are final."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Transport(Protocol):
    async def start(self) -> None:
        """Open connections or clients (called once before the first send)."""

    async def close(self) -> None:
        """Release what start() opened."""

    async def send(self, message: OutgoingMessage) -> str | None:
        """Deliver, or raise DeliveryError. Returns an optional receipt (e.g. a provider's reference)."""

    # A transport that can tell whether a message went out also has
    #   async def delivered(self, message: OutgoingMessage) -> bool
    # and a retry after a crash between sending and recording then skips the send when it did.
