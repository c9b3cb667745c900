"""Catalog listing: filters, sort orders and opaque keyset cursors.

A cursor is base64url(JSON [version, sort, key, id]): the sort key of the last row and its id as a
tie-breaker. The next page is "rows after (key, id) in this order", so pages are stable while rows are
added or removed elsewhere, and no rows are skipped with an offset.

Query shapes follow the indexes in `store.ensure_indexes` (equality, sort, range): `status` and
`category_slug` are equalities, every sort order has a (status[, category_slug], sort key, _id) index,
and the cursor condition opens with a plain range on the sort key so that the next page starts
where the index scan left off instead of re-reading every earlier row.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from subgraphs.kit.clock import as_utc
from subgraphs.kit.errors import BadUserInput
from subgraphs.kit.pagination import CursorCodec
from subgraphs.products.ids import is_object_id, slugify
from subgraphs.products.search import search_clause

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_SEARCH_LENGTH = 100
_CURSOR_VERSION = 1
CURSORS = CursorCodec(message="invalid cursor: pass a cursor from a previous page of this listing")


class SortOrder(enum.Enum):
    NEWEST = "NEWEST"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    NAME = "NAME"


# sort order -> (document field, direction); ties are broken by `_id` ascending.
_SORT_FIELDS: dict[SortOrder, tuple[str, int]] = {
    SortOrder.NEWEST: ("created_at", -1),
    SortOrder.PRICE_ASC: ("price_min", 1),
    SortOrder.PRICE_DESC: ("price_min", -1),
    SortOrder.NAME: ("name_sort", 1),
}


@dataclass(frozen=True)
class CatalogFilter:
    search: str | None = None
    category: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool | None = None

    def validated(self) -> CatalogFilter:
        search = self.search.strip() if self.search is not None else None
        if search is not None and len(search) > MAX_SEARCH_LENGTH:
            raise BadUserInput(f"search is limited to {MAX_SEARCH_LENGTH} characters", argument="filter.search")
        for name, value in (("minPrice", self.min_price), ("maxPrice", self.max_price)):
            if value is not None and value < 0:
                raise BadUserInput(f"{name} must not be negative", argument=f"filter.{name}")
        if self.min_price is not None and self.max_price is not None and self.min_price > self.max_price:
            raise BadUserInput("minPrice must not exceed maxPrice", argument="filter")
        return CatalogFilter(search or None, self.category, self.min_price, self.max_price, self.in_stock)

    def to_query(self) -> dict[str, Any]:
        """The MongoDB filter (real MongoDB, mongoeco and mongomock run it alike). Search matches
        word prefixes of the normalized tokens (see `search`); a price range holds when one variant
        lies in it ($elemMatch, so both bounds apply to one price and both bound the index scan)."""
        clauses: list[dict[str, Any]] = [{"status": "ACTIVE"}]
        if self.search:
            clauses.append(search_clause(self.search))
        if self.category:
            clauses.append({"category_slug": slugify(self.category)})
        if self.min_price is not None or self.max_price is not None:
            bounds: dict[str, int] = {}
            if self.min_price is not None:
                bounds["$gte"] = self.min_price
            if self.max_price is not None:
                bounds["$lte"] = self.max_price
            clauses.append({"variants": {"$elemMatch": {"price.amount": bounds}}})
        if self.in_stock is True:
            clauses.append({"variants.stock.available": {"$gt": 0}})
        elif self.in_stock is False:
            clauses.append({"variants.stock.available": {"$not": {"$gt": 0}}})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def cache_key(self) -> str:
        raw = orjson.dumps([self.search, self.category and slugify(self.category), self.min_price,
                            self.max_price, self.in_stock])
        return hashlib.sha1(raw).hexdigest()


@dataclass(frozen=True)
class Cursor:
    sort: SortOrder
    key: Any
    id: str


def sort_spec(order: SortOrder) -> list[tuple[str, int]]:
    field, direction = _SORT_FIELDS[order]
    return [(field, direction), ("_id", 1)]


def sort_key(order: SortOrder, doc: dict[str, Any]) -> Any:
    field = _SORT_FIELDS[order][0]
    value = doc[field]
    if field == "created_at" and isinstance(value, str):  # a plain (cached) document
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return _epoch_ms(value)
    return value


def _epoch_ms(value: datetime) -> int:
    return int(as_utc(value).timestamp() * 1000)


def encode_cursor(order: SortOrder, doc: dict[str, Any]) -> str:
    return CURSORS.encode([_CURSOR_VERSION, order.value, sort_key(order, doc), doc["_id"]])


def decode_cursor(cursor: str, order: SortOrder) -> Cursor:
    raw = CURSORS.decode(cursor)
    if not (isinstance(raw, list) and len(raw) == 4 and raw[0] == _CURSOR_VERSION):
        raise CURSORS.invalid()
    _, sort_name, key, row_id = raw
    if sort_name != order.value:
        raise BadUserInput(f"this cursor belongs to the {sort_name} order, not {order.value}", argument="after")
    if not isinstance(row_id, str) or not is_object_id(row_id):
        raise CURSORS.invalid()
    field = _SORT_FIELDS[order][0]
    if field == "name_sort":
        if not isinstance(key, str):
            raise CURSORS.invalid()
        value: Any = key
    else:
        if not isinstance(key, int) or isinstance(key, bool):
            raise CURSORS.invalid()
        value = key
        if field == "created_at":
            try:
                value = datetime.fromtimestamp(key / 1000, tz=UTC)
            except (OverflowError, OSError, ValueError):
                raise CURSORS.invalid() from None
    return Cursor(order, value, row_id)


def after_clause(cursor: Cursor) -> dict[str, Any]:
    """Rows after (key, id): key beyond the cursor's, or equal to it with a greater id. Written as
    "key at or beyond, and (beyond, or id greater)" so the first part is an index range."""
    field, direction = _SORT_FIELDS[cursor.sort]
    beyond, reached = ("$gt", "$gte") if direction == 1 else ("$lt", "$lte")
    return {"$and": [{field: {reached: cursor.key}},
                     {"$or": [{field: {beyond: cursor.key}}, {"_id": {"$gt": cursor.id}}]}]}

