"""Many customers racing for the last units: never oversold, nothing left held for the losers."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.orders.conftest import OrdersInstance
from tests.orders.fake_products import ProductsState
from tests.orders.queries import PLACE_ORDER, order_input
from tests.support.tokens import bearer

CUSTOMERS = 50
UNITS = 10


async def test_fifty_customers_order_the_last_ten_units(orders: OrdersInstance, products_state: ProductsState) -> None:
    products_state.add("LAST-1", price=4900, stock=UNITS)

    async def buy(customer: int) -> str:
        body = await orders.gql(PLACE_ORDER, {"input": order_input(("LAST-1", 1)), "key": f"last-{customer}"},
                                bearer(f"customer-{customer}"))
        assert "errors" not in body, body
        result = body["data"]["placeOrder"]
        if result["__typename"] == "InsufficientStock":
            assert result["sku"] == "LAST-1" and result["requested"] == 1 and result["available"] == 0
        assert products_state.available("LAST-1") >= 0
        return str(result["__typename"])

    outcomes = Counter(await asyncio.gather(*(buy(i) for i in range(CUSTOMERS))))
    assert outcomes == {"OrderPlaced": UNITS, "InsufficientStock": CUSTOMERS - UNITS}
    variant = products_state.variants["LAST-1"]
    assert variant.reserved == UNITS and variant.stock == UNITS and products_state.available("LAST-1") == 0

    store = orders.services.store
    placed = [doc async for doc in store.orders.find({"lines.sku": "LAST-1"})]
    assert len(placed) == UNITS
    held = {order_id for order_id, r in products_state.reservations.items()
            if r.state == "reserved" and ("LAST-1", 1) in r.lines}
    assert held == {doc["_id"] for doc in placed}  # no stock held for any customer who got nothing
    assert await store.checkouts.count_documents({}) == 0
    assert len({doc["number"] for doc in placed}) == UNITS
