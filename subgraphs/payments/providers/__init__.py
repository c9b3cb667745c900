"""Payment providers behind one interface; simulated in-process with Stripe-like test tokens."""

from subgraphs.payments.providers.base import (
    ChargeRequest,
    ChargeResult,
    IdempotencyConflict,
    PaymentProvider,
    ProviderError,
    RefundRejected,
    RefundRequest,
    RefundResult,
    TransientProviderError,
)
from subgraphs.payments.providers.registry import ProviderRegistry, build_providers

__all__ = [
    "ChargeRequest",
    "ChargeResult",
    "IdempotencyConflict",
    "PaymentProvider",
    "ProviderError",
    "ProviderRegistry",
    "RefundRejected",
    "RefundRequest",
    "RefundResult",
    "TransientProviderError",
    "build_providers",
]
