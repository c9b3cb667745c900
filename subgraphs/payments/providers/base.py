"""The provider interface: charge and refund with an idempotency key, and look a charge up by its key.

Like Stripe, a provider stores the result of every request that reached it under its idempotency key:
a repeated request returns the first result and never moves money twice. Transient errors are not
stored (the request did not complete), so a retry with the same key runs again.

A call that times out or cannot reach the provider has an unknown outcome: the provider may have
charged. Only `resolve_charge` settles it: it answers the charge made under the key, or that there is
none, in which case the provider voids the key, so no request still on its way can charge under it
later and a new attempt under another key cannot double charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ChargeRequest:
    idempotency_key: str
    amount: int
    currency: str
    token: str
    description: str = ""
    # Metadata kept with the provider's record (like Stripe's), so its ledger can be read per order.
    order_id: str = ""


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    reference: str
    # What the provider captured (on success): compared with what was asked for by the caller.
    amount: int
    currency: str
    error_code: str | None = None
    message: str | None = None
    # A decline the customer can fix (other card, more funds): the order may stay open for a retry.
    retryable_decline: bool = False
    replayed: bool = False


@dataclass(frozen=True)
class RefundRequest:
    idempotency_key: str
    charge_idempotency_key: str
    amount: int
    currency: str


@dataclass(frozen=True)
class RefundResult:
    reference: str
    amount: int
    replayed: bool = False


class ProviderError(Exception):
    """The provider could not complete a request; `code` is its machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TransientProviderError(ProviderError):
    """The provider answered that it did not complete the request (processing error, rate limit, 5xx):
    nothing happened, worth retrying with the same idempotency key."""


class ProviderUnreachable(ProviderError):
    """The request may or may not have reached the provider (connection lost): its outcome is unknown."""


class IdempotencyConflict(ProviderError):
    """The key was used before with different parameters: a bug on our side, never retried."""


class RefundRejected(ProviderError):
    """The provider refused a refund (nothing captured under that charge, or more than captured)."""


class PaymentProvider(Protocol):
    name: str

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge once per idempotency key; raises TransientProviderError when worth retrying."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part or all of a charge once per idempotency key."""
        ...

    async def lookup(self, idempotency_key: str) -> ChargeResult | None:
        """The provider's record of a charge request, read only (None when no request completed yet)."""
        ...

    async def resolve_charge(self, idempotency_key: str) -> ChargeResult | None:
        """The charge made under the key, or None: there is none and the key is void from now on
        (a later request under it is declined `charge_voided`). Raises when the provider cannot answer."""
        ...
