"""Stock reservations for orders: all or nothing, idempotent per order id, never overselling."""

from __future__ import annotations

import asyncio

from tests.products.support import Harness
from tests.support.tokens import bearer

ORDERS = bearer("service:orders", "inventory:write")
ADMIN = bearer("admin-1", "catalog:write")
RESERVE = """
mutation($orderId: ID!, $lines: [StockLineInput!]!) {
  reserveStock(orderId: $orderId, lines: $lines) {
    __typename
    ... on StockReservation { orderId state lines { sku quantity variantId productId productName
                                                    unitPrice { amount currency } } }
    ... on InsufficientStock { sku requested available }
    ... on UnknownVariant { sku }
  }
}
"""
RELEASE = "mutation($orderId: ID!) { releaseStock(orderId: $orderId) { orderId released } }"
RESERVE_AT = """
mutation($orderId: ID!, $lines: [StockLineInput!]!, $attempt: Int!) {
  reserveStock(orderId: $orderId, lines: $lines, attempt: $attempt) {
    __typename
    ... on StockReservation { state attempt lines { sku quantity } }
    ... on StockReservationReleased { orderId attempt final }
    ... on InsufficientStock { sku requested available }
  }
}
"""
RELEASE_AT = """mutation($orderId: ID!, $attempt: Int) {
  releaseStock(orderId: $orderId, attempt: $attempt) { released state } }"""
COMMIT = "mutation($orderId: ID!) { commitStock(orderId: $orderId) { orderId committed } }"
STOCK = "query($sku: String!) { variant(sku: $sku) { stock { onHand reserved available } } }"


async def make_product(h: Harness, stocks: dict[str, int]) -> str:
    variants = [{"sku": sku, "price": {"amount": 1000 + i, "currency": "EUR"}, "onHand": n}
                for i, (sku, n) in enumerate(stocks.items())]
    data = await h.data("""mutation($input: CreateProductInput!) { createProduct(input: $input) {
        ... on ProductSuccess { product { id } } } }""",
                        {"input": {"name": f"Stocked {'-'.join(stocks)}", "category": "Stock", "variants": variants}},
                        ADMIN)
    return str(data["createProduct"]["product"]["id"])


async def stock(h: Harness, sku: str) -> dict:
    return (await h.data(STOCK, {"sku": sku}))["variant"]["stock"]


async def reserve(h: Harness, order_id: str, lines: list[tuple[str, int]]) -> dict:
    data = await h.data(RESERVE, {"orderId": order_id, "lines": [{"sku": s, "quantity": q} for s, q in lines]},
                        ORDERS)
    return data["reserveStock"]


async def test_reserve_release_commit(empty: Harness) -> None:
    product_id = await make_product(empty, {"A-1": 5, "B-1": 3})
    r = await reserve(empty, "order-1", [("A-1", 2), ("B-1", 1), ("A-1", 1)])  # repeated SKUs are merged
    assert r["__typename"] == "StockReservation" and r["state"] == "RESERVED"
    assert [(line["sku"], line["quantity"]) for line in r["lines"]] == [("A-1", 3), ("B-1", 1)]
    assert r["lines"][0]["productId"] == product_id and r["lines"][0]["unitPrice"] == {"amount": 1000,
                                                                                         "currency": "EUR"}
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 3, "available": 2}

    assert (await empty.data(COMMIT, {"orderId": "order-1"}, ORDERS))["commitStock"]["committed"] is True
    assert await stock(empty, "A-1") == {"onHand": 2, "reserved": 0, "available": 2}
    assert await stock(empty, "B-1") == {"onHand": 2, "reserved": 0, "available": 2}
    # Repeats change nothing; a committed order cannot be released.
    assert (await empty.data(COMMIT, {"orderId": "order-1"}, ORDERS))["commitStock"]["committed"] is True
    assert (await empty.data(RELEASE, {"orderId": "order-1"}, ORDERS))["releaseStock"]["released"] is False
    assert await stock(empty, "A-1") == {"onHand": 2, "reserved": 0, "available": 2}

    r2 = await reserve(empty, "order-2", [("B-1", 2)])
    assert r2["state"] == "RESERVED" and await stock(empty, "B-1") == {"onHand": 2, "reserved": 2, "available": 0}
    for _ in range(3):
        released = (await empty.data(RELEASE, {"orderId": "order-2"}, ORDERS))["releaseStock"]
        assert released == {"orderId": "order-2", "released": True}
        assert await stock(empty, "B-1") == {"onHand": 2, "reserved": 0, "available": 2}
    assert (await empty.data(COMMIT, {"orderId": "order-2"}, ORDERS))["commitStock"]["committed"] is False
    assert (await empty.data(RELEASE, {"orderId": "never-seen"}, ORDERS))["releaseStock"]["released"] is False


async def test_repeated_reserve_returns_the_same_reservation(empty: Harness) -> None:
    await make_product(empty, {"A-1": 5})
    first = await reserve(empty, "order-9", [("A-1", 2)])
    again = await reserve(empty, "order-9", [("A-1", 2)])
    different = await reserve(empty, "order-9", [("A-1", 4)])  # same order id: the existing one is answered
    assert first == again == different
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 2, "available": 3}


async def test_a_released_reservation_is_never_answered_as_held(empty: Harness) -> None:
    """Regression: a reserve after a release answered the RELEASED reservation as a StockReservation."""
    await make_product(empty, {"A-1": 5})
    await reserve(empty, "order-9", [("A-1", 2)])
    await empty.data(RELEASE, {"orderId": "order-9"}, ORDERS)  # the order was cancelled: final
    after_release = await reserve(empty, "order-9", [("A-1", 2)])
    assert after_release["__typename"] == "StockReservationReleased", after_release
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}
    assert (await empty.data(COMMIT, {"orderId": "order-9"}, ORDERS))["commitStock"]["committed"] is False
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}


async def reserve_at(h: Harness, order_id: str, lines: list[tuple[str, int]], attempt: int) -> dict:
    variables = {"orderId": order_id, "lines": [{"sku": s, "quantity": q} for s, q in lines], "attempt": attempt}
    return (await h.data(RESERVE_AT, variables, ORDERS))["reserveStock"]


async def release_at(h: Harness, order_id: str, attempt: int | None) -> dict:
    return (await h.data(RELEASE_AT, {"orderId": order_id, "attempt": attempt}, ORDERS))["releaseStock"]


async def test_a_higher_attempt_holds_a_released_reservation_afresh(empty: Harness) -> None:
    await make_product(empty, {"A-1": 5})
    assert (await reserve_at(empty, "order-a", [("A-1", 2)], 1))["state"] == "RESERVED"
    assert await release_at(empty, "order-a", 1) == {"released": True, "state": "RELEASED"}
    # The swept attempt, late: not held, and nothing held for it.
    late = await reserve_at(empty, "order-a", [("A-1", 2)], 1)
    assert late == {"__typename": "StockReservationReleased", "orderId": "order-a", "attempt": 1, "final": False}
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}
    # A retry the sweep did not know of: a fresh hold, as often as it repeats.
    for _ in range(2):
        again = await reserve_at(empty, "order-a", [("A-1", 2)], 2)
        assert again == {"__typename": "StockReservation", "state": "RESERVED", "attempt": 2,
                         "lines": [{"sku": "A-1", "quantity": 2}]}
        assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 2, "available": 3}
    assert (await empty.data(COMMIT, {"orderId": "order-a"}, ORDERS))["commitStock"]["committed"] is True
    assert await stock(empty, "A-1") == {"onHand": 3, "reserved": 0, "available": 3}
    assert (await reserve_at(empty, "order-a", [("A-1", 2)], 9))["state"] == "COMMITTED"  # not held: left stock
    assert await stock(empty, "A-1") == {"onHand": 3, "reserved": 0, "available": 3}


async def test_a_release_for_an_older_attempt_leaves_a_newer_one_held(empty: Harness) -> None:
    """The sweep decided on attempt 1; a live retry (attempt 2) asked for the reservation since."""
    await make_product(empty, {"A-1": 5})
    await reserve_at(empty, "order-b", [("A-1", 2)], 1)
    assert (await reserve_at(empty, "order-b", [("A-1", 2)], 2))["attempt"] == 2
    assert await release_at(empty, "order-b", 1) == {"released": False, "state": "RESERVED"}
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 2, "available": 3}
    assert (await reserve_at(empty, "order-b", [("A-1", 2)], 1))["attempt"] == 2  # an older one never lowers it
    assert await release_at(empty, "order-b", 2) == {"released": True, "state": "RELEASED"}
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}


async def test_a_final_release_is_never_held_again(empty: Harness) -> None:
    await make_product(empty, {"A-1": 5})
    await reserve_at(empty, "order-c", [("A-1", 1)], 3)
    assert await release_at(empty, "order-c", None) == {"released": True, "state": "RELEASED"}
    refused = await reserve_at(empty, "order-c", [("A-1", 1)], 100)
    assert refused == {"__typename": "StockReservationReleased", "orderId": "order-c", "attempt": 3, "final": True}
    # A released (not final) one becomes final when the order is cancelled.
    await reserve_at(empty, "order-d", [("A-1", 1)], 1)
    await release_at(empty, "order-d", 1)
    await release_at(empty, "order-d", None)
    assert (await reserve_at(empty, "order-d", [("A-1", 1)], 2))["final"] is True
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}


async def test_a_reserve_that_arrives_after_its_attempt_was_released_holds_nothing(empty: Harness) -> None:
    """The sweep released attempt 1 of an order products never saw (its reserve call was still on the way)."""
    await make_product(empty, {"A-1": 5})
    assert await release_at(empty, "order-e", 1) == {"released": True, "state": "RELEASED"}
    assert (await reserve_at(empty, "order-e", [("A-1", 2)], 1))["__typename"] == "StockReservationReleased"
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}
    assert (await reserve_at(empty, "order-e", [("A-1", 2)], 2))["state"] == "RESERVED"
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 2, "available": 3}


async def test_a_fresh_hold_that_finds_no_stock_stays_released(empty: Harness) -> None:
    await make_product(empty, {"A-1": 2})
    await reserve_at(empty, "order-f", [("A-1", 2)], 1)
    await release_at(empty, "order-f", 1)
    await reserve_at(empty, "order-other", [("A-1", 2)], 1)
    short = await reserve_at(empty, "order-f", [("A-1", 2)], 2)
    assert short == {"__typename": "InsufficientStock", "sku": "A-1", "requested": 2, "available": 0}
    assert (await reserve_at(empty, "order-f", [("A-1", 2)], 2))["attempt"] == 2  # released for attempt 2 now
    await release_at(empty, "order-other", None)
    assert (await reserve_at(empty, "order-f", [("A-1", 2)], 3))["state"] == "RESERVED"
    assert await stock(empty, "A-1") == {"onHand": 2, "reserved": 2, "available": 0}


async def test_a_late_finisher_of_a_release_never_drops_a_fresh_hold(empty: Harness) -> None:
    """Each fresh hold has its own hold key: finishing the release of the earlier one leaves it alone."""
    await make_product(empty, {"A-1": 5})
    await reserve_at(empty, "order-g", [("A-1", 2)], 1)
    await release_at(empty, "order-g", 1)
    await reserve_at(empty, "order-g", [("A-1", 2)], 2)
    inventory = empty.service.inventory
    assert await inventory.store.drop_hold("A-1", "order-g", commit=False) is None  # the first one's key
    for _ in range(2):
        assert await release_at(empty, "order-g", 1) == {"released": False, "state": "RESERVED"}
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 2, "available": 3}
    raw = await inventory.store.raw_by_sku("A-1")
    assert raw is not None and raw["variants"][0]["holds"] == {"order-g~1": 2}


async def test_concurrent_retries_and_a_release_of_a_released_reservation(empty: Harness) -> None:
    await make_product(empty, {"A-1": 10, "B-1": 10})
    await reserve_at(empty, "order-h", [("A-1", 1), ("B-1", 1)], 1)
    await release_at(empty, "order-h", 1)
    results = await asyncio.gather(*(reserve_at(empty, "order-h", [("A-1", 3), ("B-1", 2)], 2) for _ in range(5)),
                                   release_at(empty, "order-h", 2))
    await release_at(empty, "order-h", None)
    assert {r.get("__typename") for r in results[:5]} <= {"StockReservation", "StockReservationReleased"}
    assert await stock(empty, "A-1") == {"onHand": 10, "reserved": 0, "available": 10}
    assert await stock(empty, "B-1") == {"onHand": 10, "reserved": 0, "available": 10}


async def test_all_lines_or_none(empty: Harness) -> None:
    await make_product(empty, {"A-1": 5, "B-1": 1})
    short = await reserve(empty, "order-3", [("A-1", 4), ("B-1", 2)])
    assert short == {"__typename": "InsufficientStock", "sku": "B-1", "requested": 2, "available": 1}
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}  # rolled back
    unknown = await reserve(empty, "order-3", [("A-1", 1), ("NOPE-1", 1)])
    assert unknown == {"__typename": "UnknownVariant", "sku": "NOPE-1"}
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}
    # Nothing was kept for the failed attempts: the same order id can reserve once stock allows.
    ok = await reserve(empty, "order-3", [("A-1", 4), ("B-1", 1)])
    assert ok["state"] == "RESERVED"
    assert await stock(empty, "B-1") == {"onHand": 1, "reserved": 1, "available": 0}


async def test_archived_products_cannot_be_reserved(empty: Harness) -> None:
    product_id = await make_product(empty, {"A-1": 5})
    await empty.data("mutation($id: ID!) { archiveProduct(id: $id) { __typename } }", {"id": product_id}, ADMIN)
    assert (await reserve(empty, "order-4", [("A-1", 1)]))["__typename"] == "InsufficientStock"


async def test_concurrent_reservations_never_oversell(empty: Harness) -> None:
    await make_product(empty, {"HOT-1": 10})
    results = await asyncio.gather(*(reserve(empty, f"order-{n}", [("HOT-1", 1)]) for n in range(100)))
    won = [r for r in results if r["__typename"] == "StockReservation"]
    lost = [r for r in results if r["__typename"] == "InsufficientStock"]
    assert len(won) == 10 and len(lost) == 90
    assert await stock(empty, "HOT-1") == {"onHand": 10, "reserved": 10, "available": 0}

    # Concurrent repeats of the same reservations and releases change nothing more.
    winners = [r["orderId"] for r in won]
    repeats = await asyncio.gather(*(reserve(empty, o, [("HOT-1", 1)]) for o in winners * 3))
    assert all(r["state"] == "RESERVED" for r in repeats)
    assert await stock(empty, "HOT-1") == {"onHand": 10, "reserved": 10, "available": 0}
    await asyncio.gather(*(empty.data(RELEASE, {"orderId": o}, ORDERS) for o in winners[:5] * 4))
    assert await stock(empty, "HOT-1") == {"onHand": 10, "reserved": 5, "available": 5}


async def test_concurrent_duplicate_reservations_of_one_order(empty: Harness) -> None:
    await make_product(empty, {"A-1": 10, "B-1": 10})
    results = await asyncio.gather(*(reserve(empty, "order-dup", [("A-1", 3), ("B-1", 2)]) for _ in range(20)))
    assert {r["state"] for r in results} == {"RESERVED"}
    assert await stock(empty, "A-1") == {"onHand": 10, "reserved": 3, "available": 7}
    assert await stock(empty, "B-1") == {"onHand": 10, "reserved": 2, "available": 8}


async def test_release_during_reserve_leaves_nothing_held(empty: Harness) -> None:
    await make_product(empty, {"A-1": 10, "B-1": 10})
    reserving = asyncio.gather(*(reserve(empty, "order-x", [("A-1", 1), ("B-1", 1)]) for _ in range(3)))
    releasing = empty.data(RELEASE, {"orderId": "order-x"}, ORDERS)
    await asyncio.gather(reserving, releasing)
    await empty.data(RELEASE, {"orderId": "order-x"}, ORDERS)
    assert await stock(empty, "A-1") == {"onHand": 10, "reserved": 0, "available": 10}
    assert await stock(empty, "B-1") == {"onHand": 10, "reserved": 0, "available": 10}


async def test_a_resumed_pending_reservation_holds_each_line_once(empty: Harness) -> None:
    """A caller died after holding one line: a retry after its lease finishes the job without double holds."""
    await make_product(empty, {"A-1": 5, "B-1": 5})
    inventory = empty.service.inventory
    from datetime import timedelta

    from subgraphs.kit.clock import utcnow

    await inventory.reservations.insert_one({
        "_id": "order-crash", "state": "pending", "owner": "dead", "lease_until": utcnow() - timedelta(seconds=1),
        "lines": [{"sku": "A-1", "quantity": 2, "variant_id": "v", "product_id": "p", "product_name": "n",
                   "unit_price": {"amount": 1, "currency": "EUR"}},
                  {"sku": "B-1", "quantity": 1, "variant_id": "v", "product_id": "p", "product_name": "n",
                   "unit_price": {"amount": 1, "currency": "EUR"}}],
    })
    await inventory.store.hold("A-1", 2, "order-crash")  # what the dead caller had done
    r = await reserve(empty, "order-crash", [("A-1", 2), ("B-1", 1)])
    assert r["state"] == "RESERVED"
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 2, "available": 3}
    assert await stock(empty, "B-1") == {"onHand": 5, "reserved": 1, "available": 4}


async def test_inventory_is_for_the_orders_service_only(empty: Harness) -> None:
    await make_product(empty, {"A-1": 5})
    variables = {"orderId": "o-1", "lines": [{"sku": "A-1", "quantity": 1}]}
    assert await empty.error_code(RESERVE, variables) == "UNAUTHENTICATED"
    assert await empty.error_code(RESERVE, variables, bearer("mallory")) == "FORBIDDEN"
    assert await empty.error_code(RESERVE, variables, ADMIN) == "FORBIDDEN"
    assert await empty.error_code(RELEASE, {"orderId": "o-1"}, bearer("mallory")) == "FORBIDDEN"
    assert await empty.error_code(COMMIT, {"orderId": "o-1"}) == "UNAUTHENTICATED"


async def test_bad_reservation_input(empty: Harness) -> None:
    await make_product(empty, {"A-1": 5})
    for lines in ([], [{"sku": "A-1", "quantity": 0}], [{"sku": "A-1", "quantity": -2}],
                  [{"sku": "A-1", "quantity": 1_000_001}], [{"sku": "", "quantity": 1}]):
        assert await empty.error_code(RESERVE, {"orderId": "o-1", "lines": lines}, ORDERS) == "BAD_USER_INPUT"
    for order_id in ["has.dot", "$where", "x" * 129, ""]:
        variables = {"orderId": order_id, "lines": [{"sku": "A-1", "quantity": 1}]}
        assert await empty.error_code(RESERVE, variables, ORDERS) == "BAD_USER_INPUT"
    huge = await empty.execute(RESERVE, {"orderId": "o-1", "lines": [{"sku": "A-1", "quantity": 2**40}]}, ORDERS)
    assert huge.errors  # not a 32-bit Int: refused by GraphQL itself
    assert await stock(empty, "A-1") == {"onHand": 5, "reserved": 0, "available": 5}


async def test_a_late_older_attempt_never_holds_after_a_newer_one_found_no_stock(empty: Harness) -> None:
    """Chaos seed 2: attempt 1's reserve was held up on the way; the retry (attempt 2) found no stock, so
    orders ended the checkout. The late attempt 1 then arrived when stock was back: it must hold nothing
    (orders gave up on it; nobody would ever release it)."""
    await make_product(empty, {"A-1": 2})
    await reserve_at(empty, "order-other", [("A-1", 2)], 1)
    short = await reserve_at(empty, "order-h", [("A-1", 2)], 2)
    assert short == {"__typename": "InsufficientStock", "sku": "A-1", "requested": 2, "available": 0}
    await release_at(empty, "order-other", None)
    late = await reserve_at(empty, "order-h", [("A-1", 2)], 1)
    assert late == {"__typename": "StockReservationReleased", "orderId": "order-h", "attempt": 2, "final": False}
    assert await stock(empty, "A-1") == {"onHand": 2, "reserved": 0, "available": 2}
    # The same request asked again (orders raises its attempt above 2): held afresh.
    assert (await reserve_at(empty, "order-h", [("A-1", 2)], 3))["state"] == "RESERVED"
    assert await stock(empty, "A-1") == {"onHand": 2, "reserved": 2, "available": 0}
