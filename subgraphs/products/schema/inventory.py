"""Inventory for the orders service (scope inventory:write). Every element here is @inaccessible, so
the gateway's public API never shows it; orders calls this subgraph's /graphql directly."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry

from subgraphs.kit.money import Money
from subgraphs.products.inventory import Insufficient, Released, Reservation, ReserveOutcome
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


@strawberry.federation.type(inaccessible=True, description=(
    "An order's reservation: its units are held only in state RESERVED (COMMITTED: they left stock)."))
class StockReservation:
    order_id: strawberry.ID
    state: ReservationState
    lines: list[ReservedLine]
    attempt: int = strawberry.field(description="The highest attempt that asked for this reservation.")

    @classmethod
    def from_domain(cls, reservation: Reservation) -> StockReservation:
        return cls(
            order_id=strawberry.ID(reservation.order_id),
            state=ReservationState(reservation.state.value),
            attempt=reservation.attempt,
            lines=[ReservedLine(sku=line["sku"], quantity=line["quantity"], variant_id=line["variant_id"],
                                product_id=line["product_id"], product_name=line["product_name"],
                                unit_price=Money.from_doc(line["unit_price"])) for line in reservation.lines],
        )


@strawberry.federation.type(inaccessible=True, description=(
    "The order's reservation was released and nothing is held for it now: its units are held afresh only "
    "for an attempt above `attempt`, and never when `final` (the order was cancelled)."))
class StockReservationReleased:
    order_id: strawberry.ID
    attempt: int
    final: bool


@strawberry.federation.type(inaccessible=True)
class StockReleaseResult:
    order_id: strawberry.ID
    released: bool = strawberry.field(description=(
        "The reservation is released now (also true on a repeat); false when a higher attempt holds it, it was "
        "committed, or the order has none."))
    state: ReservationState | None = strawberry.field(description="null when the order has no reservation.")


@strawberry.federation.type(inaccessible=True)
class StockCommitResult:
    order_id: strawberry.ID
    committed: bool = strawberry.field(description=(
        "The order's units have left stock (also true on a repeat); false when nothing is held for the order."))
    state: ReservationState | None = strawberry.field(description="null when the order has no reservation.")


StockReservationResult = Annotated[
    StockReservation | InsufficientStock | UnknownVariant | StockReservationReleased,
    strawberry.federation.union("StockReservationResult", inaccessible=True),
]

ReservationAnswer = StockReservation | InsufficientStock | UnknownVariant | StockReservationReleased


def state_of(reservation: Reservation | None) -> ReservationState | None:
    return ReservationState(reservation.state.value) if reservation is not None else None


def reservation_result(outcome: ReserveOutcome) -> ReservationAnswer:
    if isinstance(outcome, Reservation):
        return StockReservation.from_domain(outcome)
    if isinstance(outcome, Released):
        return StockReservationReleased(order_id=strawberry.ID(outcome.order_id), attempt=outcome.attempt,
                                        final=outcome.final)
    if isinstance(outcome, Insufficient):
        return InsufficientStock(sku=outcome.sku, requested=outcome.requested, available=outcome.available)
    return UnknownVariant(sku=outcome.sku)
