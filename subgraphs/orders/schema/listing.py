"""Cursor pagination of orders, newest first (by order sequence, which is unique and increasing)."""

from __future__ import annotations

from subgraphs.kit.pagination import CursorCodec, Edge, check_page_size, page_info
from subgraphs.orders.domain import OrderStatus
from subgraphs.orders.schema.context import Info
from subgraphs.orders.schema.types import Order, OrderConnection

MAX_PAGE_SIZE = 100
CURSOR_TAG = "order"
CURSORS = CursorCodec(message="`after` is not a cursor of this listing")


def encode_cursor(sequence: int) -> str:
    return CURSORS.encode([CURSOR_TAG, sequence])


def decode_cursor(cursor: str) -> int:
    raw = CURSORS.decode(cursor)
    if not (isinstance(raw, list) and len(raw) == 2 and raw[0] == CURSOR_TAG):
        raise CURSORS.invalid()
    sequence = raw[1]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise CURSORS.invalid()
    return sequence


async def list_orders(
    info: Info, *, first: int, after: str | None, status: OrderStatus | None, user_id: str | None
) -> OrderConnection:
    check_page_size(first, maximum=MAX_PAGE_SIZE)
    page = await info.context.orders.store.list_orders(
        first=first, before_seq=decode_cursor(after) if after is not None else None, user_id=user_id, status=status
    )
    edges = [Edge(cursor=encode_cursor(int(doc["seq"])), node=Order.from_document(doc)) for doc in page.documents]
    return OrderConnection(
        edges=edges,
        page_info=page_info(edges, has_next_page=page.has_next_page, after=after),
        user_id=user_id,
        status=status,
    )
