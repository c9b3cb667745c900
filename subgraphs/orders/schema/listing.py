"""Cursor pagination of orders, newest first (by order sequence, which is unique and increasing)."""

from __future__ import annotations

import base64
import binascii

from subgraphs.kit.errors import BadUserInput
from subgraphs.orders.domain import OrderStatus
from subgraphs.orders.schema.context import Info
from subgraphs.orders.schema.types import Order, OrderConnection, OrderEdge, PageInfo

MAX_PAGE_SIZE = 100
CURSOR_PREFIX = "order:"


def encode_cursor(sequence: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{sequence}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(CURSOR_PREFIX):
            raise ValueError(text)
        sequence = int(text.removeprefix(CURSOR_PREFIX))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput("`after` is not a cursor of this listing", argument="after") from None
    if sequence < 1:
        raise BadUserInput("`after` is not a cursor of this listing", argument="after")
    return sequence


async def list_orders(
    info: Info, *, first: int, after: str | None, status: OrderStatus | None, user_id: str | None
) -> OrderConnection:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE_SIZE}", argument="first")
    page = await info.context.orders.store.list_orders(
        first=first, before_seq=decode_cursor(after) if after is not None else None, user_id=user_id, status=status
    )
    edges = [OrderEdge(cursor=encode_cursor(int(doc["seq"])), node=Order.from_document(doc)) for doc in page.documents]
    return OrderConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=page.total_count,
    )
