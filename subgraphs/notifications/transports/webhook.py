"""WEBHOOK: an HTTP POST with a JSON body, signed with HMAC-SHA256 over `timestamp + "." + body`.

Header `X-Signature: t=<unix seconds>,v1=<hex digest>`. Receivers recompute the digest with their
secret, compare in constant time and reject old timestamps (replay protection).
5xx answers, timeouts and connection errors are retried; any other non-2xx answer is final.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import httpx
import orjson

from subgraphs.notifications.transports.base import DeliveryError, OutgoingMessage

SIGNATURE_HEADER = "X-Signature"
USER_AGENT = "supershop-notifications/1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance_seconds: int = 300,
                     now: float | None = None) -> bool:
    """What a receiver does: parse the header, check freshness, compare digests in constant time."""
    fields: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))


def payload(message: OutgoingMessage) -> dict[str, object]:
    return {
        "id": message.notification_id,
        "type": message.event_type,
        "eventId": message.event_id,
        "occurredAt": message.occurred_at,
        "userId": message.user_id,
        "orderId": message.order_id,
        "template": message.template,
        "message": message.text,
        "attempt": message.attempt,
        "data": message.data,
    }


async def private_address(url: str) -> str | None:
    """The first loopback/private/link-local/reserved address the URL's host resolves to, if any."""
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None  # unresolvable: the request itself fails and is retried
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return str(address)
    return None


class WebhookTransport:
    """`allow_private_networks=False` (production) refuses URLs resolving to non-global addresses,
    so a user cannot point webhooks at internal services (checked at send time)."""

    def __init__(self, default_secret: str, timeout_seconds: float, allow_private_networks: bool = True) -> None:
        self.default_secret = default_secret
        self.timeout_seconds = timeout_seconds
        self.allow_private_networks = allow_private_networks
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_seconds, follow_redirects=False, headers={"User-Agent": USER_AGENT}
            )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, message: OutgoingMessage) -> str | None:
        if self._client is None:
            await self.start()
        assert self._client is not None
        if not self.allow_private_networks and (address := await private_address(message.recipient)):
            raise DeliveryError(f"webhook host resolves to the non-public address {address}", transient=False)
        body = orjson.dumps(payload(message))
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(message.signing_secret or self.default_secret, timestamp, body),
            "X-Notification-Id": message.notification_id,
            "X-Event-Type": message.event_type,
            "Idempotency-Key": message.notification_id,
        }
        try:
            response = await self._client.post(message.recipient, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"webhook timed out: {exc.__class__.__name__}", transient=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook request failed: {exc.__class__.__name__}: {exc}", transient=True) from exc
        if response.is_success:
            return f"HTTP {response.status_code}"
        detail = f"webhook answered HTTP {response.status_code}"
        raise DeliveryError(detail, transient=response.status_code >= 500)
