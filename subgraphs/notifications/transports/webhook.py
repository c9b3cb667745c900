"""WEBHOOK: an HTTP POST with a JSON body, signed with HMAC-SHA256 over `timestamp + "." + body`.

Header `X-Signature: t=<unix seconds>,v1=<hex digest>`. Receivers recompute the digest with their
secret, compare in constant time and reject old timestamps (replay protection).
5xx answers, timeouts and connection errors are retried; any other non-2xx answer is final (a 3xx
included: redirects are not followed). Destinations are checked against SSRF in `destinations`.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import time

import httpx
import orjson

from subgraphs.notifications.transports.base import DeliveryError, OutgoingMessage
from subgraphs.notifications.transports.destinations import (
    Destination,
    DestinationRefused,
    Resolver,
    resolve,
    system_resolver,
)

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


class WebhookTransport:
    """Posts to the user's URL at the address checked by `destinations.resolve` (see there for what
    `allow_private_networks=False`, the default, refuses). The request goes to that IP with the
    original Host header and, for https, SNI and certificate verification for the original hostname.
    Connections are not kept alive: a pooled connection is keyed by IP and must not carry a request
    for another hostname over a TLS session verified for the first. Redirects are not followed."""

    def __init__(self, default_secret: str, timeout_seconds: float, allow_private_networks: bool = False, *,
                 resolver: Resolver = system_resolver, verify: ssl.SSLContext | bool = True) -> None:
        self.default_secret = default_secret
        self.timeout_seconds = timeout_seconds
        self.allow_private_networks = allow_private_networks
        self.resolver = resolver
        self.verify = verify
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout_seconds, follow_redirects=False, trust_env=False, verify=self.verify,
                limits=httpx.Limits(max_keepalive_connections=0), headers={"User-Agent": USER_AGENT},
            )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def destination(self, url: str) -> Destination:
        try:
            return await resolve(url, allow_private=self.allow_private_networks, resolver=self.resolver)
        except DestinationRefused as exc:
            raise DeliveryError(str(exc), transient=False) from exc
        except OSError as exc:
            raise DeliveryError(f"webhook host does not resolve: {exc}", transient=True) from exc

    async def send(self, message: OutgoingMessage) -> str | None:
        if self._client is None:
            await self.start()
        assert self._client is not None
        destination = await self.destination(message.recipient)
        body = orjson.dumps(payload(message))
        timestamp = int(time.time())
        headers = {
            "Host": destination.host_header,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(message.signing_secret or self.default_secret, timestamp, body),
            "X-Notification-Id": message.notification_id,
            "X-Event-Type": message.event_type,
            "Idempotency-Key": message.notification_id,
        }
        response = await self._post(destination, body, headers)
        if response.is_success:
            return f"HTTP {response.status_code}"
        detail = f"webhook answered HTTP {response.status_code}"
        if response.is_redirect:
            detail += f" (a redirect to {response.headers.get('location', '?')!r}, not followed)"
        raise DeliveryError(detail, transient=response.status_code >= 500)

    async def _post(self, destination: Destination, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to each checked address in turn until one accepts the connection."""
        assert self._client is not None
        url = httpx.URL(destination.url)
        extensions = {"sni_hostname": destination.hostname} if destination.scheme == "https" else {}
        failure: DeliveryError | None = None
        for address in destination.addresses:
            request = self._client.build_request(
                "POST", url.copy_with(host=str(address)), content=body, headers=headers, extensions=extensions
            )
            try:
                return await self._client.send(request)
            except httpx.ConnectError as exc:
                failure = DeliveryError(f"webhook connection to {address} failed: {exc}", transient=True)
            except httpx.TimeoutException as exc:
                raise DeliveryError(f"webhook timed out: {exc.__class__.__name__}", transient=True) from exc
            except httpx.HTTPError as exc:
                raise DeliveryError(f"webhook request failed: {exc.__class__.__name__}: {exc}",
                                    transient=True) from exc
        assert failure is not None
        raise failure
