"""Inventory for the orders service (scope inventory:write). Every element here is @inaccessible, so
the gateway's public API never shows it; orders calls this subgraph's /graphql directly."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry

from subgraphs.kit.money import Money
from subgraphs.products.inventory import Insufficient, Reservation, ReserveOutcome
from subgraphs.products.schema.types import InsufficientStock, UnknownVariant


@strawberry.federation.input(inaccessible=True)
class StockLineInput:
    sku: str
    quantity: int


@strawberry.federation.enum(inaccessible=True)
class ReservationState(enum.Enum):
    PENDING = "pending"
    RESERVED = "reserved"
    RELEASED = "released"
    COMMITTED = "committed"


@strawberry.federation.type(inaccessible=True)
class ReservedLine:
    sku: str
    quantity: int
    variant_id: strawberry.ID
    product_id: strawberry.ID
    product_name: str
    unit_price: Money = strawberry.field(description="The catalog price when the stock was reserved.")


@strawberry.federation.type(inaccessible=True, description="Units held for an order.")
class StockReservation:
    order_id: strawberry.ID
    state: ReservationState
    lines: list[ReservedLine]

    @classmethod
    def from_domain(cls, reservation: Reservation) -> StockReservation:
        return cls(
            order_id=strawberry.ID(reservation.order_id),
            state=ReservationState(reservation.state.value),
            lines=[ReservedLine(sku=line["sku"], quantity=line["quantity"], variant_id=line["variant_id"],
                                product_id=line["product_id"], product_name=line["product_name"],
                                unit_price=Money.from_doc(line["unit_price"])) for line in reservation.lines],
        )


@strawberry.federation.type(inaccessible=True)
class StockReleaseResult:
    order_id: strawberry.ID
    released: bool = strawberry.field(description="The order holds no stock now (also true on a repeat).")


@strawberry.federation.type(inaccessible=True)
class StockCommitResult:
    order_id: strawberry.ID
    committed: bool = strawberry.field(description="The order's units have left stock (also true on a repeat).")


StockReservationResult = Annotated[
    StockReservation | InsufficientStock | UnknownVariant,
    strawberry.federation.union("StockReservationResult", inaccessible=True),
]


def reservation_result(outcome: ReserveOutcome) -> StockReservation | InsufficientStock | UnknownVariant:
    if isinstance(outcome, Reservation):
        return StockReservation.from_domain(outcome)
    if isinstance(outcome, Insufficient):
        return InsufficientStock(sku=outcome.sku, requested=outcome.requested, available=outcome.available)
    return UnknownVariant(sku=outcome.sku)
