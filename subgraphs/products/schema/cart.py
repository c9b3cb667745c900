"""The cart of the signed-in user: `User.cart`, `me { cart }` and the cart mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from subgraphs.kit.errors import Forbidden
from subgraphs.kit.money import Money
from subgraphs.kit.representations import entity_id
from subgraphs.products.carts import (
    CartCurrencyMismatch,
    CartInsufficient,
    CartOutcome,
    CartUnknown,
    CartView,
    PricedLine,
)
from subgraphs.products.schema.context import CATALOG_WRITE, Info
from subgraphs.products.schema.types import InsufficientStock, Product, UnknownVariant, Variant


@strawberry.type(description="A cart line, priced from the live catalog.")
class CartLine:
    sku: str
    quantity: int
    variant: Variant | None = strawberry.field(description="Null when the SKU has left the catalog.")
    unit_price: Money | None
    line_total: Money | None
    available: int = strawberry.field(description="Units that can be sold now (0 when the product is archived).")

    @classmethod
    def from_line(cls, line: PricedLine) -> CartLine:
        if line.product is None or line.variant is None:
            return cls(sku=line.sku, quantity=line.quantity, variant=None, unit_price=None, line_total=None,
                       available=0)
        variant = Product.from_plain(line.product).variant(line.sku)
        return cls(
            sku=line.sku,
            quantity=line.quantity,
            variant=variant,
            unit_price=variant.price,
            line_total=Money(amount=variant.price.amount * line.quantity, currency=variant.price.currency),
            available=variant.stock.available if variant.in_stock() else 0,
        )


@strawberry.type(description="The signed-in user's cart.")
class Cart:
    lines: list[CartLine]
    subtotal: Money | None = strawberry.field(description="Sum of the priced lines; null for an empty cart.")
    total_quantity: int
    updated_at: datetime | None

    @classmethod
    def from_view(cls, view: CartView) -> Cart:
        lines = [CartLine.from_line(line) for line in view.lines]
        totals = [line.line_total for line in lines if line.line_total is not None]
        subtotal = Money(amount=sum(t.amount for t in totals), currency=totals[0].currency) if totals else None
        return cls(
            lines=lines,
            subtotal=subtotal,
            total_quantity=sum(line.quantity for line in lines),
            updated_at=datetime.fromisoformat(view.updated_at) if view.updated_at else None,
        )


@strawberry.type(description="The SKU is priced in another currency than the lines already in the cart.")
class CurrencyMismatch:
    sku: str
    currency: str
    cart_currency: str


CartResult = Annotated[
    Cart | InsufficientStock | UnknownVariant | CurrencyMismatch, strawberry.union("CartResult")
]


def cart_result(outcome: CartOutcome) -> Cart | InsufficientStock | UnknownVariant | CurrencyMismatch:
    if isinstance(outcome, CartInsufficient):
        return InsufficientStock(sku=outcome.sku, requested=outcome.requested, available=outcome.available)
    if isinstance(outcome, CartUnknown):
        return UnknownVariant(sku=outcome.sku)
    if isinstance(outcome, CartCurrencyMismatch):
        return CurrencyMismatch(sku=outcome.sku, currency=outcome.currency, cart_currency=outcome.cart_currency)
    return Cart.from_view(outcome)


@strawberry.federation.type(keys=["id"], description="A user, known by the `sub` of their token.")
class User:
    id: strawberry.ID

    @strawberry.field(description="Readable by the user themselves, or with the catalog:write scope.")
    async def cart(self, info: Info) -> Cart | None:
        viewer = info.context.require_viewer()
        if viewer.user_id != self.id and not viewer.has_scope(CATALOG_WRITE):
            raise Forbidden("a cart is visible only to its owner")
        return Cart.from_view(await info.context.products.carts.view(str(self.id)))

    @classmethod
    def resolve_reference(cls, id: object = None, **_: object) -> User:
        return cls(id=entity_id(id, "User"))


def viewer_id(info: Info) -> str:
    return info.context.require_viewer().user_id
