"""Payment providers behind one interface; simulated in-process with Stripe-like test payment methods."""

from subgraphs.payments.providers.base import (
    ChargeRequest,
    ChargeResult,
    IdempotencyConflict,
    PaymentProvider,
    ProviderError,
    ProviderUnreachable,
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
    "ProviderUnreachable",
    "RefundRejected",
    "RefundRequest",
    "RefundResult",
    "TransientProviderError",
    "build_providers",
]
