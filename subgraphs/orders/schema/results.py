"""Typed domain outcomes of the mutations (unions), so clients can branch on them."""

from __future__ import annotations

from typing import Annotated

import strawberry

from subgraphs.orders.domain import OrderStatus
from subgraphs.orders.schema.types import Order


@strawberry.type(description="The order was placed (or, for a retried idempotency key, had been).")
class OrderPlaced:
    order: Order
    replayed: bool = strawberry.field(description="True when this answers a retry of an earlier request.")


@strawberry.federation.type(shareable=True, description="Not enough stock for a line; nothing was reserved.")
class InsufficientStock:
    sku: str
    requested: int
    available: int


@strawberry.federation.type(shareable=True, description="No variant has this SKU; nothing was reserved.")
class UnknownVariant:
    sku: str


@strawberry.type(description="The order has no lines (an empty cart or an empty list).")
class EmptyOrder:
    message: str = "an order needs at least one line"


@strawberry.type(description="This idempotency key was already used for a different request.")
class IdempotencyKeyReused:
    idempotency_key: str
    message: str = "this idempotency key was already used with a different request; use a new key"


PlaceOrderResult = Annotated[
    OrderPlaced | InsufficientStock | UnknownVariant | EmptyOrder | IdempotencyKeyReused,
    strawberry.union("PlaceOrderResult"),
]


@strawberry.type(description="The order moved to its new status.")
class OrderTransitioned:
    order: Order


@strawberry.type(description="The order cannot go from its current status to the requested one.")
class InvalidStatusTransition:
    from_: OrderStatus = strawberry.field(name="from")
    to: OrderStatus
    order: Order
    message: str


OrderTransitionResult = Annotated[
    OrderTransitioned | InvalidStatusTransition, strawberry.union("OrderTransitionResult")
]
