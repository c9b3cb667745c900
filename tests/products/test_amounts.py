"""Prices as MinorUnits (case 9 of the money issue): beyond 32 bits, bounded so that a whole cart of the
dearest product is still an amount any client reads exactly; refused prices store nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from subgraphs.kit.money import MAX_AMOUNT, MAX_UNIT_PRICE, MAX_UNITS_PER_ORDER
from subgraphs.kit.settings import Settings
from subgraphs.products.app import create_app
from subgraphs.products.carts import MAX_LINE_QUANTITY, MAX_LINES
from subgraphs.products.config import ProductsConfig
from subgraphs.products.validation import MAX_VARIANTS
from tests.products.support import Harness
from tests.products.test_admin import ADMIN, CREATE, UPDATE, product_input
from tests.support.servers import serve_asgi
from tests.support.tokens import bearer

ALICE = bearer("alice")
COUNT = "{ products { totalCount } }"
ADD = ("mutation($sku: String!, $q: Int!) { addToCart(sku: $sku, quantity: $q) { __typename "
       "... on Cart { totalQuantity subtotal { amount currency } lines { lineTotal { amount } } } } }")


def priced(amount: Any, sku: str = "TM-1", currency: str = "IDR") -> dict[str, Any]:
    return product_input(sku=sku, variants=[{"sku": sku, "price": {"amount": amount, "currency": currency},
                                             "onHand": 5}])


def test_a_full_cart_of_the_dearest_unit_stays_a_minor_units_amount() -> None:
    assert MAX_LINES * MAX_LINE_QUANTITY <= MAX_UNITS_PER_ORDER
    assert MAX_UNIT_PRICE * MAX_UNITS_PER_ORDER <= MAX_AMOUNT


async def test_prices_beyond_32_bits_up_to_the_bound_are_stored_and_answered(empty: Harness) -> None:
    created = (await empty.data(CREATE, {"input": priced(MAX_UNIT_PRICE)}, ADMIN))["createProduct"]
    assert created["__typename"] == "ProductSuccess", created
    product = created["product"]
    assert product["variants"][0]["price"] == {"amount": MAX_UNIT_PRICE, "currency": "IDR"}
    assert product["priceRange"] == {"min": {"amount": MAX_UNIT_PRICE}, "max": {"amount": MAX_UNIT_PRICE}}
    updated = (await empty.data(UPDATE, {"id": product["id"], "input": {"variants": [
        {"sku": "TM-1", "price": {"amount": 3_000_000_000, "currency": "IDR"}}]}}, ADMIN))["updateProduct"]
    assert updated["product"]["variants"][0]["price"] == {"amount": 3_000_000_000}, updated


async def test_a_price_above_the_unit_bound_is_a_validation_error_and_stores_nothing(empty: Harness) -> None:
    result = (await empty.data(CREATE, {"input": priced(MAX_UNIT_PRICE + 1)}, ADMIN))["createProduct"]
    assert result["__typename"] == "ValidationError", result
    assert [e["field"] for e in result["fieldErrors"]] == ["input.variants[0].price.amount"]
    assert str(MAX_UNIT_PRICE) in result["fieldErrors"][0]["message"]
    assert (await empty.data(COUNT))["products"]["totalCount"] == 0
    product = (await empty.data(CREATE, {"input": priced(100)}, ADMIN))["createProduct"]["product"]
    refused = (await empty.data(UPDATE, {"id": product["id"], "input": {"variants": [
        {"sku": "TM-1", "price": {"amount": MAX_UNIT_PRICE + 1, "currency": "IDR"}}]}}, ADMIN))["updateProduct"]
    assert refused["__typename"] == "ValidationError", refused
    assert (await empty.data('{ variants(skus: ["TM-1"]) { price { amount } } }'))["variants"] == [
        {"price": {"amount": 100}}]


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, 2**63, -(2**53), True, "1999", 19.99])
async def test_a_price_that_is_not_minor_units_is_bad_user_input(empty: Harness, amount: Any) -> None:
    assert await empty.error_code(CREATE, {"input": priced(amount)}, ADMIN) == "BAD_USER_INPUT"
    assert (await empty.data(COUNT))["products"]["totalCount"] == 0


async def test_the_price_filter_takes_amounts_beyond_32_bits(empty: Harness) -> None:
    for sku, amount in (("CHEAP-1", 1_000_000_000), ("DEAR-1", 3_500_000_000)):
        created = await empty.data(CREATE, {"input": {**priced(amount, sku), "name": sku}}, ADMIN)
        assert created["createProduct"]["__typename"] == "ProductSuccess", created
    page = await empty.data("{ products(filter: {minPrice: 3000000000}) { edges { node { name } } } }")
    assert [e["node"]["name"] for e in page["products"]["edges"]] == ["DEAR-1"]
    page = await empty.data("query($max: MinorUnits) { products(filter: {maxPrice: $max}) { totalCount } }",
                            {"max": 3_000_000_000})
    assert page["products"]["totalCount"] == 1
    assert await empty.error_code("{ products(filter: {minPrice: 1e10}) { totalCount } }") == "BAD_USER_INPUT"


async def test_a_full_cart_of_the_dearest_variants_is_answered_exactly(empty: Harness) -> None:
    assert MAX_LINES <= MAX_VARIANTS
    variants = [{"sku": f"GOLD-{i}", "price": {"amount": MAX_UNIT_PRICE, "currency": "USD"},
                 "onHand": MAX_LINE_QUANTITY} for i in range(MAX_LINES)]
    created = await empty.data(CREATE, {"input": product_input(variants=variants)}, ADMIN)
    assert created["createProduct"]["__typename"] == "ProductSuccess", created
    for i in range(MAX_LINES):
        cart = (await empty.data(ADD, {"sku": f"GOLD-{i}", "q": MAX_LINE_QUANTITY}, ALICE))["addToCart"]
    assert cart["totalQuantity"] == MAX_LINES * MAX_LINE_QUANTITY
    assert cart["subtotal"] == {"amount": MAX_UNIT_PRICE * MAX_LINES * MAX_LINE_QUANTITY, "currency": "USD"}
    assert cart["lines"][0]["lineTotal"] == {"amount": MAX_UNIT_PRICE * MAX_LINE_QUANTITY}


@pytest.fixture
async def http(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings.from_env("products", env={"REDIS_URL": redis_url}), ProductsConfig(seed_demo=False))
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield client


@pytest.mark.parametrize(("query", "variables"), [
    (CREATE, {"input": priced(True)}),
    (CREATE, {"input": priced("3000000000")}),
    (CREATE, {"input": priced(1.5)}),
    (CREATE, {"input": priced(2**53)}),
    (CREATE, {"input": priced(10**30)}),
    ("{ products(filter: {minPrice: 9007199254740992}) { totalCount } }", None),
    ('{ products(filter: {minPrice: "5"}) { totalCount } }', None),
    ("{ products(filter: {maxPrice: false}) { totalCount } }", None),
])
async def test_bad_amounts_over_http_are_typed_errors_never_a_500(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None
) -> None:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=ADMIN)
    assert response.status_code < 500, response.text
    body = response.json()
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body
    count = (await http.post("/graphql", json={"query": COUNT})).json()
    assert count["data"]["products"]["totalCount"] == 0
