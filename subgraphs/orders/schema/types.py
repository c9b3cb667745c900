"""GraphQL object types of orders: Order and its lines, the User and Product entities, the order connection."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from subgraphs.kit.clock import as_utc
from subgraphs.kit.errors import Forbidden
from subgraphs.kit.money import Money
from subgraphs.kit.pagination import Edge, PageInfo
from subgraphs.kit.representations import entity_id
from subgraphs.orders.schema.context import Info
from subgraphs.orders.schema.enums import OrderStatus, PaymentProvider
from subgraphs.orders.status_stream import StatusChange
from subgraphs.orders.store import Document


@strawberry.federation.type(keys=["id"], description="A product of the catalog (owned by products).")
class Product:
    id: strawberry.ID
    name: str = strawberry.federation.field(external=True)

    @classmethod
    async def resolve_reference(cls, info: Info, id: object = None, **_: object) -> Product | None:
        """orders only knows a product by the name it had in an order line."""
        id = entity_id(id, "Product")
        document = await info.context.orders.store.orders.find_one(
            {"lines.product_id": str(id)}, {"lines": 1}, sort=[("seq", -1)]
        )
        if document is None:
            return None
        name = next(line["product_name"] for line in document["lines"] if line["product_id"] == str(id))
        return cls(id=id, name=name)


@strawberry.type(description="A line of an order, with the product's name and price as they were when ordered.")
class OrderLine:
    variant_id: strawberry.ID
    sku: str
    product_name: str
    quantity: int
    unit_price: Money
    line_total: Money
    product_id: strawberry.Private[str]

    @strawberry.federation.field(provides=["name"], description="The product; its name is the ordered one.")
    def product(self) -> Product | None:
        return Product(id=strawberry.ID(self.product_id), name=self.product_name)

    @classmethod
    def from_document(cls, line: Document, currency: str) -> OrderLine:
        return cls(
            variant_id=strawberry.ID(line["variant_id"]),
            sku=line["sku"],
            product_name=line["product_name"],
            quantity=int(line["quantity"]),
            unit_price=Money(amount=int(line["unit_price"]), currency=currency),
            line_total=Money(amount=int(line["line_total"]), currency=currency),
            product_id=line["product_id"],
        )


@strawberry.type(description="One status change in an order's timeline.")
class OrderStatusChange:
    event_id: strawberry.ID = strawberry.field(description="The order's version after this change.")
    at: datetime
    from_: OrderStatus | None = strawberry.field(name="from", description="Null for the order's creation.")
    to: OrderStatus
    reason: str | None


@strawberry.federation.type(keys=["id"], description="A customer's order.")
class Order:
    id: strawberry.ID
    document: strawberry.Private[Document]

    @classmethod
    def from_document(cls, document: Document) -> Order:
        return cls(id=strawberry.ID(document["_id"]), document=document)

    @classmethod
    async def resolve_reference(cls, info: Info, id: object = None, **_: object) -> Order | None:
        id = entity_id(id, "Order")
        document = await info.context.order_loader().load(str(id))
        if document is None:
            return None
        info.context.require_order_access(document)
        return cls.from_document(document)

    @strawberry.field(description='Human-readable order number, e.g. "SO-000123".')
    def number(self) -> str:
        return str(self.document["number"])

    @strawberry.field
    def customer(self) -> User:
        return User(id=strawberry.ID(self.document["user_id"]))

    @strawberry.field
    def lines(self) -> list[OrderLine]:
        return [OrderLine.from_document(line, self.document["currency"]) for line in self.document["lines"]]

    @strawberry.field
    def subtotal(self) -> Money:
        return Money(amount=int(self.document["subtotal"]), currency=self.document["currency"])

    @strawberry.field
    def total(self) -> Money:
        return Money(amount=int(self.document["total"]), currency=self.document["currency"])

    @strawberry.field
    def status(self) -> OrderStatus:
        return OrderStatus(self.document["status"])

    @strawberry.field(description="The latest status event id (see orderStatusChanged).")
    def status_event_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.document["version"]))

    @strawberry.field(description="Every status change, oldest first.")
    def timeline(self) -> list[OrderStatusChange]:
        return [
            OrderStatusChange(event_id=strawberry.ID(str(e["version"])), at=as_utc(e["at"]),
                              from_=OrderStatus(e["from"]) if e.get("from") else None, to=OrderStatus(e["to"]),
                              reason=e.get("reason"))
            for e in self.document["timeline"]
        ]

    @strawberry.field(description="How the customer pays.")
    def payment_provider(self) -> PaymentProvider:
        return PaymentProvider(self.document["payment"]["provider"])

    @strawberry.field(description="Until when the stock is held for payment; null once the order left "
                                  "AWAITING_PAYMENT.")
    def payment_due_at(self) -> datetime | None:
        if self.document["status"] != OrderStatus.AWAITING_PAYMENT.value:
            return None
        return as_utc(self.document["hold_expires_at"])

    @strawberry.field
    def created_at(self) -> datetime:
        return as_utc(self.document["created_at"])

    @strawberry.field
    def updated_at(self) -> datetime:
        return as_utc(self.document["updated_at"])


@strawberry.type(description="A page of orders, newest first; pass `pageInfo.endCursor` as `after`.")
class OrderConnection:
    edges: list[Edge[Order]]
    page_info: PageInfo
    user_id: strawberry.Private[str | None]
    status: strawberry.Private[OrderStatus | None]

    @strawberry.field(description="How many orders match over all pages; counted only when selected.")
    async def total_count(self, info: Info) -> int:
        return await info.context.orders.store.count_orders(user_id=self.user_id, status=self.status)


@strawberry.federation.type(keys=["id"], description="A signed-in customer (identity from the JWT).")
class User:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: object = None, **_: object) -> User:
        return cls(id=entity_id(id, "User"))

    @strawberry.field(description="The user's orders, newest first. Only the user or orders:admin.")
    async def orders(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="1..100")] = 20,
        after: str | None = None,
        status: OrderStatus | None = None,
    ) -> OrderConnection | None:
        from subgraphs.orders.schema.listing import list_orders

        viewer = info.context.require_viewer()
        if viewer.user_id != str(self.id) and not info.context.is_admin(viewer):
            raise Forbidden("only the user or an orders admin may read these orders")
        return await list_orders(info, first=first, after=after, status=status, user_id=str(self.id))


@strawberry.type(description="A change of an order's status, as pushed to live subscribers.")
class OrderStatusEvent:
    event_id: strawberry.ID = strawberry.field(description="Increases by one per change of this order; "
                                                           "pass it as `after` to resume.")
    order_id: strawberry.ID
    status: OrderStatus
    previous_status: OrderStatus | None
    reason: str | None
    at: datetime

    @strawberry.field
    async def order(self, info: Info) -> Order:
        document = await info.context.orders.store.get(str(self.order_id))
        if document is None:
            raise RuntimeError(f"order {self.order_id} vanished")
        return Order.from_document(document)

    @classmethod
    def from_change(cls, change: StatusChange) -> OrderStatusEvent:
        return cls(event_id=strawberry.ID(str(change.version)), order_id=strawberry.ID(change.order_id),
                   status=change.status, previous_status=change.previous, reason=change.reason, at=change.at)
