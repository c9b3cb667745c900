"""The provider interface: charge and refund with an idempotency key, and look a charge up by its key.

Like Stripe, a provider stores the result of every request that reached it under its idempotency key:
a repeated request returns the first result and never moves money twice. Transient errors are not
stored (the request did not complete), so a retry with the same key runs again.
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


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    reference: str
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
    """Worth retrying with the same idempotency key (processing error, rate limit, 5xx)."""


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
        """The provider's own record of a charge request (None when no request completed)."""
        ...
