"""Live order status over WebSockets, fanned out through the order's Redis Stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from subgraphs.kit.errors import BadUserInput
from subgraphs.orders.schema.context import Info
from subgraphs.orders.schema.query import load_order
from subgraphs.orders.schema.types import OrderStatusEvent
from subgraphs.orders.status_stream import status_feed
from subgraphs.orders.store import Document


def _after_version(after: strawberry.ID | None) -> int | None:
    if after is None:
        return None
    text = str(after)
    if not text.isdigit() or len(text) > 12:
        raise BadUserInput("`after` must be an eventId received from this subscription", argument="after")
    return int(text)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The order's current status (or, with `after`, every change after that "
                             "eventId), then each change; completes at CANCELLED, FULFILLED or REFUNDED. "
                             "Its customer or orders:admin only.")
    async def order_status_changed(
        self, info: Info, order_id: strawberry.ID, after: strawberry.ID | None = None
    ) -> AsyncGenerator[OrderStatusEvent, None]:
        after_version = _after_version(after)
        order = await load_order(info, str(order_id))
        services = info.context.orders

        async def reload() -> Document | None:
            return await services.store.get(str(order_id))

        feed = status_feed(order, after_version, services.stream, reload,
                           block_ms=services.config.subscription_block_ms)
        async for change in feed:
            yield OrderStatusEvent.from_change(change)
