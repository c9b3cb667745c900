"""A minimal products service speaking the inventory/cart contract orders relies on.

For fault tests (products failing or down) and to count calls; the saga tests use the real products
app when it exists. Reservations are all-or-nothing and idempotent per order id, like the contract.
"""

from __future__ import annotations

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


@strawberry.type
class ReservedLine:
    sku: str
    quantity: int
    variant_id: strawberry.ID
    product_id: strawberry.ID
    product_name: str
    unit_price: Money


@strawberry.type
class StockReservation:
    order_id: strawberry.ID
    lines: list[ReservedLine]


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


@strawberry.type
class StockCommitResult:
    order_id: strawberry.ID
    committed: bool


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
    return StockReservation(order_id=strawberry.ID(order_id), lines=lines)


ReservationResult = Annotated[StockReservation | InsufficientStock | UnknownVariant,
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
    def reserve_stock(self, info: strawberry.Info, order_id: strawberry.ID, lines: list[StockLineInput]
                      ) -> ReservationResult:
        _viewer(info, "inventory:write")
        state: ProductsState = info.context["state"]
        state.count("reserveStock")
        if str(order_id) in state.reservations and state.reservations[str(order_id)].state == "reserved":
            return _reservation(state, str(order_id))
        for line in lines:
            if line.sku not in state.variants:
                return UnknownVariant(sku=line.sku)
            if state.available(line.sku) < line.quantity:
                return InsufficientStock(sku=line.sku, requested=line.quantity, available=state.available(line.sku))
        for line in lines:
            state.variants[line.sku].reserved += line.quantity
        state.reservations[str(order_id)] = FakeReservation(lines=[(ln.sku, ln.quantity) for ln in lines])
        return _reservation(state, str(order_id))

    @strawberry.mutation
    def release_stock(self, info: strawberry.Info, order_id: strawberry.ID) -> StockReleaseResult:
        _viewer(info, "inventory:write")
        state: ProductsState = info.context["state"]
        state.count("releaseStock")
        state.release_calls[str(order_id)] = state.release_calls.get(str(order_id), 0) + 1
        reservation = state.reservations.get(str(order_id))
        if reservation is None or reservation.state != "reserved":
            return StockReleaseResult(order_id=order_id, released=False)
        for sku, quantity in reservation.lines:
            state.variants[sku].reserved -= quantity
        reservation.state = "released"
        return StockReleaseResult(order_id=order_id, released=True)

    @strawberry.mutation
    def commit_stock(self, info: strawberry.Info, order_id: strawberry.ID) -> StockCommitResult:
        _viewer(info, "inventory:write")
        state: ProductsState = info.context["state"]
        state.count("commitStock")
        reservation = state.reservations.get(str(order_id))
        if reservation is None or reservation.state != "reserved":
            return StockCommitResult(order_id=order_id, committed=False)
        for sku, quantity in reservation.lines:
            state.variants[sku].reserved -= quantity
            state.variants[sku].stock -= quantity
        reservation.state = "committed"
        return StockCommitResult(order_id=order_id, committed=True)

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
