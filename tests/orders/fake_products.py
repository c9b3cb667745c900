"""A minimal products service speaking the inventory/cart contract orders relies on.

For fault tests (products failing or down) and to count calls; the saga tests use the real products
app when it exists. Reservations follow the real contract: all-or-nothing and idempotent per order id; a
held reservation answers any attempt and keeps the highest; a release for an older attempt than the one
holding it changes nothing; a released reservation is held afresh only for a higher attempt than it was
released at, and never after a final release (no attempt: the order was cancelled).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Annotated, Any

import strawberry
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.schema.config import StrawberryConfig

from subgraphs.kit.auth import Authenticator, Viewer
from subgraphs.kit.money import SCALARS, Money
from subgraphs.kit.settings import DEV_JWT_SECRET


@dataclass
class FakeVariant:
    sku: str
    price: int
    stock: int
    currency: str = "EUR"
    reserved: int = 0

    @property
    def id(self) -> str:
        return f"var-{self.sku}"

    @property
    def product_id(self) -> str:
        return f"prod-{self.sku.split('-')[0]}"

    @property
    def product_name(self) -> str:
        return f"Product {self.sku.split('-')[0]}"


@dataclass
class FakeReservation:
    lines: list[tuple[str, int]]
    state: str = "reserved"
    attempt: int = 0
    released_attempt: int = 0
    final: bool = False

    @property
    def floor(self) -> int:
        """A released reservation is held afresh only for an attempt above this."""
        return max(self.attempt, self.released_attempt)


@dataclass
class ProductsState:
    variants: dict[str, FakeVariant] = field(default_factory=dict)
    reservations: dict[str, FakeReservation] = field(default_factory=dict)
    carts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    release_calls: dict[str, int] = field(default_factory=dict)
    failing: bool = False

    def add(self, sku: str, price: int, stock: int, currency: str = "EUR") -> None:
        self.variants[sku] = FakeVariant(sku=sku, price=price, stock=stock, currency=currency)

    def count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def reserved_for(self, order_id: str) -> bool:
        reservation = self.reservations.get(order_id)
        return reservation is not None and reservation.state == "reserved"

    def available(self, sku: str) -> int:
        variant = self.variants[sku]
        return variant.stock - variant.reserved

    def lose_hold(self, order_id: str, *, final: bool = False) -> None:
        """Release an order's units behind orders' back (as if by an operator or a bug)."""
        reservation = self.reservations[order_id]
        for sku, quantity in reservation.lines:
            self.variants[sku].reserved -= quantity
        reservation.state, reservation.final = "released", final
        reservation.released_attempt = reservation.attempt


@strawberry.type
class ReservedLine:
    sku: str
    quantity: int
    variant_id: strawberry.ID
    product_id: strawberry.ID
    product_name: str
    unit_price: Money


@strawberry.enum
class ReservationState(enum.Enum):
    PENDING = "pending"
    RESERVED = "reserved"
    RELEASED = "released"
    COMMITTED = "committed"


@strawberry.type
class StockReservation:
    order_id: strawberry.ID
    state: ReservationState
    lines: list[ReservedLine]
    attempt: int


@strawberry.type
class StockReservationReleased:
    order_id: strawberry.ID
    attempt: int
    final: bool


@strawberry.type
class InsufficientStock:
    sku: str
    requested: int
    available: int


@strawberry.type
class UnknownVariant:
    sku: str


@strawberry.type
class StockReleaseResult:
    order_id: strawberry.ID
    released: bool
    state: ReservationState | None = None


@strawberry.type
class StockCommitResult:
    order_id: strawberry.ID
    committed: bool
    state: ReservationState | None = None


@strawberry.input
class StockLineInput:
    sku: str
    quantity: int


@strawberry.type
class CartLine:
    sku: str
    quantity: int


@strawberry.type
class Cart:
    lines: list[CartLine]


@strawberry.type
class User:
    id: strawberry.ID

    @strawberry.field
    def cart(self, info: strawberry.Info) -> Cart:
        state: ProductsState = info.context["state"]
        return Cart(lines=[CartLine(sku=s, quantity=q) for s, q in state.carts.get(str(self.id), [])])


@strawberry.type
class Variant:
    id: strawberry.ID
    sku: str
    price: Money


def _viewer(info: strawberry.Info, scope: str | None = None) -> Viewer:
    auth: Authenticator = info.context["auth"]
    return auth.require_scope(scope) if scope else auth.require_viewer()


def _reservation(state: ProductsState, order_id: str) -> StockReservation:
    lines = []
    for sku, quantity in state.reservations[order_id].lines:
        variant = state.variants[sku]
        lines.append(ReservedLine(sku=sku, quantity=quantity, variant_id=strawberry.ID(variant.id),
                                  product_id=strawberry.ID(variant.product_id), product_name=variant.product_name,
                                  unit_price=Money(amount=variant.price, currency=variant.currency)))
    reservation = state.reservations[order_id]
    return StockReservation(order_id=strawberry.ID(order_id), state=ReservationState(reservation.state),
                            lines=lines, attempt=reservation.attempt)


ReservationResult = Annotated[StockReservation | InsufficientStock | UnknownVariant | StockReservationReleased,
                              strawberry.union("StockReservationResult")]


@strawberry.type
class Query:
    @strawberry.field
    def variants(self, info: strawberry.Info, skus: list[str]) -> list[Variant | None]:
        state: ProductsState = info.context["state"]
        found = [state.variants.get(sku) for sku in skus]
        return [Variant(id=strawberry.ID(v.id), sku=v.sku, price=Money(amount=v.price, currency=v.currency))
                if v else None for v in found]

    @strawberry.field
    def me(self, info: strawberry.Info) -> User:
        return User(id=strawberry.ID(_viewer(info).user_id))


@strawberry.type
class Mutation:
    @strawberry.mutation
    def reserve_stock(self, info: strawberry.Info, order_id: strawberry.ID, lines: list[StockLineInput],
                      attempt: int = 0) -> ReservationResult:
        _viewer(info, "inventory:write")
        state: ProductsState = info.context["state"]
        state.count("reserveStock")
        oid = str(order_id)
        existing = state.reservations.get(oid)
        if existing is not None and existing.state in ("reserved", "committed"):
            existing.attempt = max(existing.attempt, attempt)
            return _reservation(state, oid)
        if existing is not None and (existing.final or attempt <= existing.floor):
            return StockReservationReleased(order_id=order_id, attempt=existing.floor, final=existing.final)
        for line in lines:
            if line.sku not in state.variants:
                return UnknownVariant(sku=line.sku)
            if state.available(line.sku) < line.quantity:
                if existing is not None:
                    existing.released_attempt = attempt
                return InsufficientStock(sku=line.sku, requested=line.quantity, available=state.available(line.sku))
        for line in lines:
            state.variants[line.sku].reserved += line.quantity
        state.reservations[oid] = FakeReservation(
            lines=[(ln.sku, ln.quantity) for ln in lines], attempt=attempt,
            released_attempt=existing.released_attempt if existing else 0)
        return _reservation(state, oid)

    @strawberry.mutation
    def release_stock(self, info: strawberry.Info, order_id: strawberry.ID, attempt: int | None = None
                      ) -> StockReleaseResult:
        _viewer(info, "inventory:write")
        state: ProductsState = info.context["state"]
        state.count("releaseStock")
        oid = str(order_id)
        state.release_calls[oid] = state.release_calls.get(oid, 0) + 1
        reservation = state.reservations.get(oid)
        if reservation is None:
            if attempt is not None:  # a tombstone: a late reserve of this attempt holds nothing
                state.reservations[oid] = FakeReservation(lines=[], state="released", attempt=attempt,
                                                          released_attempt=attempt)
            return StockReleaseResult(order_id=order_id, released=attempt is not None,
                                      state=ReservationState.RELEASED if attempt is not None else None)
        if reservation.state == "reserved" and (attempt is None or reservation.attempt <= attempt):
            for sku, quantity in reservation.lines:
                state.variants[sku].reserved -= quantity
            reservation.state = "released"
        if reservation.state == "released":
            if attempt is None:
                reservation.final = True
            else:
                reservation.released_attempt = max(reservation.released_attempt, attempt)
        return StockReleaseResult(order_id=order_id, released=reservation.state == "released",
                                  state=ReservationState(reservation.state))

    @strawberry.mutation
    def commit_stock(self, info: strawberry.Info, order_id: strawberry.ID) -> StockCommitResult:
        _viewer(info, "inventory:write")
        state: ProductsState = info.context["state"]
        state.count("commitStock")
        reservation = state.reservations.get(str(order_id))
        if reservation is not None and reservation.state == "reserved":
            for sku, quantity in reservation.lines:
                state.variants[sku].reserved -= quantity
                state.variants[sku].stock -= quantity
            reservation.state = "committed"
        return StockCommitResult(order_id=order_id, committed=reservation is not None
                                 and reservation.state == "committed",
                                 state=ReservationState(reservation.state) if reservation else None)

    @strawberry.mutation
    def clear_cart(self, info: strawberry.Info) -> Cart:
        viewer = _viewer(info)
        state: ProductsState = info.context["state"]
        state.count("clearCart")
        state.carts.pop(viewer.user_id, None)
        return Cart(lines=[])


class _FakeProductsGraphQL(GraphQL[dict[str, Any], None]):
    def __init__(self, state: ProductsState) -> None:
        super().__init__(strawberry.federation.Schema(query=Query, mutation=Mutation,
                                                     config=StrawberryConfig(scalar_map=SCALARS)))
        self.state = state

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"state": self.state,
                "auth": Authenticator(request.headers.get("authorization"), DEV_JWT_SECRET)}


class FakeProductsApp:
    """ASGI app: /graphql, answering HTTP 503 while `state.failing` is set."""

    def __init__(self, state: ProductsState) -> None:
        self.state = state
        self.graphql = _FakeProductsGraphQL(state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": f"{message['type']}.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if self.state.failing:
            response: Response = JSONResponse({"error": "unavailable"}, status_code=503)
            await response(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] != "/graphql":
            await JSONResponse({"status": "ok"})(scope, receive, send)
            return
        await self.graphql(scope, receive, send)
