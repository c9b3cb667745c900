"""The header that marks a request as sent from inside the graph (the gateway or another service).

    X-Subgraph-Auth: <sender>;<scopes, space-separated>;<unix seconds>;<hex HMAC-SHA256>

The HMAC (key: `SUBGRAPH_SHARED_SECRET`) covers sender, scopes and timestamp. A sender signs once a
second and reuses the value (the gateway's hot path does no per-request crypto); a receiver accepts
timestamps within a bounded clock skew. A replayed value is only good for that window and only on
the internal network, which is what the secret protects anyway. The scopes let a service act as
`service:<sender>` without a JWT, since services in production hold only public keys.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

INTERNAL_HEADER = "x-subgraph-auth"
GATEWAY_SENDER = "gateway"
DEFAULT_MAX_SKEW_SECONDS = 60


def _mac(secret: bytes, sender: str, scopes: str, timestamp: int) -> str:
    message = f"{sender};{scopes};{timestamp}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class InternalSigner:
    """Produces the header value for one sender, recomputed at most once a second."""

    def __init__(
        self, secret: str, sender: str, scopes: Iterable[str] = (), clock: Callable[[], float] = time.time
    ) -> None:
        if ";" in sender or any(";" in s or " " in s for s in scopes):
            raise ValueError("sender and scopes must not contain ';' or spaces")
        self._secret = secret.encode()
        self._sender = sender
        self._scopes = " ".join(scopes)
        self._clock = clock
        self._second = -1
        self._value = ""

    def value(self) -> str:
        now = int(self._clock())
        if now != self._second:
            self._value = f"{self._sender};{self._scopes};{now};{_mac(self._secret, self._sender, self._scopes, now)}"
            self._second = now
        return self._value

    def headers(self) -> dict[str, str]:
        return {INTERNAL_HEADER: self.value()}


@dataclass(frozen=True, slots=True)
class InternalCaller:
    """A verified internal sender and the scopes it signed for itself."""

    sender: str
    scopes: frozenset[str]

    @property
    def is_gateway(self) -> bool:
        return self.sender == GATEWAY_SENDER


def verify_internal(
    value: str | None,
    secret: str,
    *,
    max_skew_seconds: float = DEFAULT_MAX_SKEW_SECONDS,
    now: float | None = None,
) -> InternalCaller | None:
    """The caller a header value proves, or None when it is missing, malformed, stale or forged."""
    if not value or not secret:
        return None
    parts = value.split(";")
    if len(parts) != 4:
        return None
    sender, scopes, raw_ts, signature = parts
    try:
        timestamp = int(raw_ts)
    except ValueError:
        return None
    current = time.time() if now is None else now
    if abs(current - timestamp) > max_skew_seconds:
        return None
    expected = _mac(secret.encode(), sender, scopes, timestamp)
    if not hmac.compare_digest(expected, signature):
        return None
    return InternalCaller(sender=sender, scopes=frozenset(scopes.split()))
