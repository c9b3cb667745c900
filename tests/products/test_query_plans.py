"""Every catalog query shape runs on an index: checked against the declared indexes by the ESR rule
on any server, and with `explain` where the server reports a winning plan (a real MongoDB)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from subgraphs.products.listing import CatalogFilter, Cursor, SortOrder, after_clause, sort_spec
from subgraphs.products.search import search_clause
from tests.products.support import Harness
from tests.support.plans import Shape, bounding, explained_plan, shape_of, sorted_by_index

CURSOR_KEYS: dict[SortOrder, Any] = {SortOrder.NEWEST: datetime(2024, 6, 2, tzinfo=UTC), SortOrder.PRICE_ASC: 2999,
                                     SortOrder.PRICE_DESC: 2999, SortOrder.NAME: "m"}
ID = "0" * 24


def listing(filter_: CatalogFilter, order: SortOrder, *, after: bool = False) -> tuple[dict[str, Any], list[Any]]:
    """The query and sort `Catalog.page` sends for this filter and order (first page or a later one)."""
    query = filter_.to_query()
    if after:
        query = {"$and": [query, after_clause(Cursor(order, CURSOR_KEYS[order], ID))]}
    return query, sort_spec(order)


async def indexes(harness: Harness) -> dict[str, dict[str, Any]]:
    info: dict[str, dict[str, Any]] = await harness.service.catalog.store.products.index_information()
    return info


@pytest.mark.parametrize("order", list(SortOrder))
@pytest.mark.parametrize("category", [None, "Outdoor"])
async def test_listing_pages_are_read_in_index_order(harness: Harness, order: SortOrder, category: str | None) -> None:
    """Regression: a category listing sorted every matching product in memory (no index had both)."""
    declared = await indexes(harness)
    for after in (False, True):
        query, sort = listing(CatalogFilter(category=category), order, after=after)
        shape = shape_of(query, sort)
        serving = sorted_by_index(shape, declared)
        assert serving is not None, f"no index gives {sort} after the equalities {sorted(shape.equality)}"
        if after:
            # The cursor opens with a range on the sort key: page N starts where page N-1 ended.
            assert sort[0][0] in serving.bounded, (serving, query)


@pytest.mark.parametrize(("filter_", "field"), [
    (CatalogFilter(search="alp"), "search_tokens"),
    (CatalogFilter(search="Alpine BACK"), "search_tokens"),
    (CatalogFilter(search="Crème", category="Books"), "search_tokens"),
    (CatalogFilter(min_price=2000, max_price=5000), "variants.price.amount"),
    (CatalogFilter(min_price=2000), "variants.price.amount"),
    (CatalogFilter(in_stock=True), "variants.stock.available"),
    (CatalogFilter(in_stock=False), "variants.stock.available"),
])
@pytest.mark.parametrize("order", [SortOrder.NEWEST, SortOrder.PRICE_ASC])
async def test_search_price_and_stock_filters_bound_an_index(harness: Harness, filter_: CatalogFilter, field: str,
                                                             order: SortOrder) -> None:
    """Regression: search was an unanchored case-insensitive regex (a scan); price and stock had no index."""
    query, sort = listing(filter_, order)
    shape = shape_of(query, sort)
    assert bounding(shape, await indexes(harness), field) is not None, (shape, query)


def test_search_words_become_anchored_case_sensitive_prefixes() -> None:
    """What lets MongoDB turn each word into an index range: `^word`, no `i` option, folded already."""
    assert search_clause("Crème BRÛLÉE") == {"$and": [{"search_tokens": {"$regex": "^creme"}},
                                                      {"search_tokens": {"$regex": "^brulee"}}]}
    assert search_clause(".*") == {"search_tokens": {"$in": []}}


async def test_lookups_use_indexes(harness: Harness) -> None:
    declared = await indexes(harness)
    for query, field in (({"slug": "x"}, "slug"), ({"variants.sku": {"$in": ["A-1"]}}, "variants.sku"),
                         ({"_id": {"$in": [ID]}}, "_id")):
        assert bounding(shape_of(query), declared, field) is not None, query


def _explain_cases() -> list[tuple[str, dict[str, Any], list[Any], bool]]:
    cases = []
    for order in SortOrder:
        for category in (None, "Outdoor"):
            for after in (False, True):
                query, sort = listing(CatalogFilter(category=category), order, after=after)
                cases.append((f"{order.value} category={category} after={after}", query, sort, True))
    for name, filter_ in (("search", CatalogFilter(search="alpine back")),
                          ("price", CatalogFilter(min_price=2000, max_price=5000)),
                          ("in stock", CatalogFilter(in_stock=True))):
        query, sort = listing(filter_, SortOrder.NEWEST)
        cases.append((name, query, sort, False))
    cases.append(("by id", {"_id": {"$in": [ID]}}, [], False))
    return cases


@pytest.mark.parametrize(("name", "query", "sort", "index_sorts"), _explain_cases(), ids=lambda v: str(v)[:40])
async def test_explain_shows_an_index_scan(harness: Harness, name: str, query: dict[str, Any], sort: list[Any],
                                           index_sorts: bool) -> None:
    plan = await explained_plan(harness.service.catalog.store.products, query, sort, limit=21)
    if isinstance(plan, str):
        pytest.skip(plan)
    assert not plan.collection_scan and plan.indexes, (name, plan)
    if index_sorts:
        assert not plan.sorts_in_memory, (name, plan)


def test_shape_reading() -> None:
    """The shape reader itself: equalities, ranges (elemMatch, anchored regex), residual $or."""
    query, sort = listing(CatalogFilter(search="a", category="B", min_price=1, in_stock=True), SortOrder.NAME,
                          after=True)
    assert shape_of(query, sort) == Shape(
        frozenset({"status", "category_slug"}),
        frozenset({"search_tokens", "variants.price.amount", "variants.stock.available", "name_sort"}),
        (("name_sort", 1), ("_id", 1)))
    assert shape_of({"name": {"$regex": "x", "$options": "i"}}).ranges == frozenset()
