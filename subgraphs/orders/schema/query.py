"""Queries: one order, the signed-in user, and the admin listing."""

from __future__ import annotations

import strawberry

from subgraphs.kit.errors import BadUserInput, NotFound
from subgraphs.orders.domain import OrderStatus, is_order_id
from subgraphs.orders.schema.context import ADMIN_SCOPE, Info
from subgraphs.orders.schema.listing import list_orders
from subgraphs.orders.schema.types import Order, OrderConnection
from subgraphs.orders.store import Document


async def load_order(info: Info, order_id: str) -> Document:
    """The order, if the viewer may see it: BAD_USER_INPUT, UNAUTHENTICATED, NOT_FOUND or FORBIDDEN."""
    if not is_order_id(order_id):
        raise BadUserInput("`id` is not an order id", argument="id")
    info.context.require_viewer()
    document = await info.context.order_loader().load(order_id)
    if document is None:
        raise NotFound(f"no order {order_id}")
    info.context.require_order_access(document)
    return document


@strawberry.type
class Query:
    @strawberry.field(description="An order: its customer's, or any with scope orders:admin.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return Order.from_document(await load_order(info, str(id)))

    @strawberry.field(description="Every order, newest first (scope orders:admin).")
    async def orders(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: OrderStatus | None = None,
        customer_id: strawberry.ID | None = None,
    ) -> OrderConnection:
        info.context.require_scope(ADMIN_SCOPE)
        return await list_orders(info, first=first, after=after, status=status,
                                 user_id=str(customer_id) if customer_id is not None else None)
