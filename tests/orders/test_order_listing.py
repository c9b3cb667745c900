"""The orders listing on its indexes: counted only when `totalCount` is selected, every filter read
newest first straight from an index (checked by the ESR rule, and with explain on a real MongoDB)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from subgraphs.orders.domain import OrderStatus
from tests.orders.conftest import ADMIN, ALICE, OrdersInstance
from tests.orders.helpers import place_order
from tests.support.plans import explained_plan, shape_of, sorted_by_index

COUNTS = {"count_documents", "estimated_document_count"}
ME = 'me: _entities(representations: [{__typename: "User", id: "alice"}]) { ... on User'
PAGE = f"""query Mine($first: Int!, $after: String) {{ {ME} {{ orders(first: $first, after: $after) {{
  pageInfo {{ hasNextPage endCursor }} edges {{ node {{ id }} }} }} }} }} }}"""
PAGE_COUNTED = f"""query Mine($first: Int!) {{ {ME} {{
  orders(first: $first) {{ totalCount edges {{ node {{ id }} }} }} }} }} }}"""
ALL = """query All($status: OrderStatus) { orders(first: 5, status: $status) { totalCount edges { node { id } } } }"""


class Counting:
    """The orders collection, counting the count calls made through it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name in COUNTS:
            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls[name] += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def count_calls(orders: OrdersInstance) -> Counting:
    store = orders.services.store
    counting = Counting(store.orders)
    store.orders = counting
    return counting


async def test_pages_are_not_counted_unless_total_count_is_selected(orders: OrdersInstance) -> None:
    """Regression: every page ran count_documents, selected or not."""
    for i in range(3):
        await place_order(orders, f"count-{i}")
    counting = count_calls(orders)
    body = await orders.gql(PAGE, {"first": 2}, ALICE)
    page = body["data"]["me"][0]["orders"]
    assert len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"] is True
    rest = await orders.gql(PAGE, {"first": 2, "after": page["pageInfo"]["endCursor"]}, ALICE)
    assert len(rest["data"]["me"][0]["orders"]["edges"]) == 1
    assert sum(counting.calls.values()) == 0, counting.calls

    counted = await orders.gql(PAGE_COUNTED, {"first": 1}, ALICE)
    assert counted["data"]["me"][0]["orders"]["totalCount"] == 3
    assert counting.calls == Counter({"count_documents": 1})


async def test_an_unfiltered_admin_count_reads_the_collection_count(orders: OrdersInstance) -> None:
    for i in range(2):
        await place_order(orders, f"all-{i}")
    counting = count_calls(orders)
    everything = await orders.gql(ALL, {}, ADMIN)
    assert everything["data"]["orders"]["totalCount"] == 2
    assert counting.calls == Counter({"estimated_document_count": 1})
    none_paid = await orders.gql(ALL, {"status": "PAID"}, ADMIN)
    assert none_paid["data"]["orders"]["totalCount"] == 0
    assert counting.calls["count_documents"] == 1


FILTERS: list[dict[str, Any]] = [{}, {"user_id": "alice"}, {"status": OrderStatus.PAID.value},
                                 {"user_id": "alice", "status": OrderStatus.PAID.value}]


@pytest.mark.parametrize("query", FILTERS, ids=lambda q: "+".join(q) or "all")
@pytest.mark.parametrize("after", [False, True])
async def test_every_order_filter_is_read_newest_first_from_an_index(orders: OrdersInstance, query: dict[str, Any],
                                                                     after: bool) -> None:
    """Regression: a user's orders filtered by status had no (user_id, status, seq) index."""
    shaped = {**query, **({"seq": {"$lt": 10}} if after else {})}
    shape = shape_of(shaped, [("seq", -1)])
    declared = await orders.services.store.orders.index_information()
    serving = sorted_by_index(shape, declared)
    assert serving is not None, (shape, sorted(declared))
    if after:
        assert "seq" in serving.bounded


@pytest.mark.parametrize("query", FILTERS, ids=lambda q: "+".join(q) or "all")
async def test_explain_shows_the_listing_on_an_index(orders: OrdersInstance, query: dict[str, Any]) -> None:
    plan = await explained_plan(orders.services.store.orders, {**query, "seq": {"$lt": 10}}, [("seq", -1)], limit=21)
    if isinstance(plan, str):
        pytest.skip(plan)
    assert not plan.collection_scan and not plan.sorts_in_memory and plan.indexes, plan
