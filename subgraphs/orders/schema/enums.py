"""The domain enums as GraphQL enums (registered once, before any type uses them)."""

from __future__ import annotations

import strawberry

from subgraphs.orders.domain import OrderStatus, PaymentProvider

OrderStatusEnum = strawberry.enum(
    OrderStatus,
    description="Where an order is in its life: AWAITING_PAYMENT -> PAID -> FULFILLED, "
                "AWAITING_PAYMENT -> CANCELLED, PAID -> REFUNDED, and PAID -> CANCELLED (refunded) in the rare "
                "case that the paid units can no longer be taken from stock. CANCELLED, FULFILLED and REFUNDED "
                "are final.",
)
PaymentProviderEnum = strawberry.enum(PaymentProvider, description="How the customer pays.")

__all__ = ["OrderStatus", "OrderStatusEnum", "PaymentProvider", "PaymentProviderEnum"]
