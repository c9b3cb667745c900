"""Admin writes against the schema: create, update, archive, set stock; typed validation; auth."""

from __future__ import annotations

import pytest

from tests.products.support import Harness
from tests.support.tokens import bearer

ADMIN = bearer("admin-1", "catalog:write")
CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on ProductSuccess { product { id name slug category status createdAt updatedAt images
                                      priceRange { min { amount } max { amount } }
                                      variants { id sku options { name value } price { amount currency }
                                                 stock { onHand reserved available } } } }
    ... on ValidationError { message fieldErrors { field message } }
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) {
    __typename
    ... on ProductSuccess { product { id name slug description status updatedAt
                                      variants { id sku price { amount } stock { onHand reserved available } } } }
    ... on ValidationError { fieldErrors { field message } }
  }
}
"""
SET_STOCK = """
mutation($sku: String!, $onHand: Int!) {
  setStock(sku: $sku, onHand: $onHand) {
    __typename
    ... on StockSuccess { variant { sku stock { onHand reserved available } product { id } } }
    ... on ValidationError { fieldErrors { field message } }
  }
}
"""
ARCHIVE = "mutation($id: ID!) { archiveProduct(id: $id) { ... on ProductSuccess { product { id status } } } }"


def product_input(name: str = "Trail Mug", sku: str = "TM-1", **extra: object) -> dict:
    return {
        "name": name, "category": "Camp Kitchen", "description": "Enamel, 350 ml.",
        "images": ["https://img.example/tm.jpg"],
        "variants": [
            {"sku": sku, "price": {"amount": 1800, "currency": "usd"}, "onHand": 5,
             "options": [{"name": "colour", "value": "Blue"}]},
            {"sku": f"{sku}-R", "price": {"amount": 2100, "currency": "USD"},
             "options": [{"name": "colour", "value": "Red"}]},
        ],
        **extra,
    }


async def create(h: Harness, name: str = "Trail Mug", sku: str = "TM-1") -> dict:
    data = await h.data(CREATE, {"input": product_input(name, sku)}, ADMIN)
    assert data["createProduct"]["__typename"] == "ProductSuccess", data
    return data["createProduct"]["product"]


async def test_create_read_update_archive(empty: Harness) -> None:
    product = await create(empty)
    assert product["slug"] == "trail-mug" and product["status"] == "ACTIVE"
    assert product["priceRange"] == {"min": {"amount": 1800}, "max": {"amount": 2100}}
    assert product["variants"][0]["price"] == {"amount": 1800, "currency": "USD"}
    assert product["variants"][0]["stock"] == {"onHand": 5, "reserved": 0, "available": 5}
    assert product["variants"][1]["stock"] == {"onHand": 0, "reserved": 0, "available": 0}

    read = await empty.data("query($id: ID!) { product(id: $id) { name category } }", {"id": product["id"]})
    assert read["product"] == {"name": "Trail Mug", "category": "Camp Kitchen"}

    new_variants = [
        {"sku": "TM-1", "price": {"amount": 1900, "currency": "USD"}},  # kept: stock untouched
        {"sku": "TM-2", "price": {"amount": 2500, "currency": "USD"}, "onHand": 7},  # added
    ]  # TM-1-R removed
    updated = (await empty.data(UPDATE, {"id": product["id"], "input": {
        "name": "Trail Mug XL", "description": "Enamel, 500 ml.", "variants": new_variants}}, ADMIN))["updateProduct"]
    assert updated["__typename"] == "ProductSuccess"
    p = updated["product"]
    assert p["name"] == "Trail Mug XL" and p["slug"] == "trail-mug" and p["updatedAt"] >= product["updatedAt"]
    assert [(v["sku"], v["price"]["amount"], v["stock"]["onHand"]) for v in p["variants"]] == [
        ("TM-1", 1900, 5), ("TM-2", 2500, 7)]
    assert p["variants"][0]["id"] == product["variants"][0]["id"]

    archived = (await empty.data(ARCHIVE, {"id": product["id"]}, ADMIN))["archiveProduct"]["product"]
    assert archived["status"] == "ARCHIVED"
    again = (await empty.data(ARCHIVE, {"id": product["id"]}, ADMIN))["archiveProduct"]["product"]
    assert again["status"] == "ARCHIVED"
    listing = await empty.data("{ products { totalCount } categories { slug } }")
    assert listing == {"products": {"totalCount": 0}, "categories": []}
    still = await empty.data("query($id: ID!) { product(id: $id) { status inStock } }", {"id": product["id"]})
    assert still["product"] == {"status": "ARCHIVED", "inStock": False}

    restored = (await empty.data(UPDATE, {"id": product["id"], "input": {"status": "ACTIVE"}}, ADMIN))
    assert restored["updateProduct"]["product"]["status"] == "ACTIVE"
    assert (await empty.data("{ products { totalCount } }"))["products"]["totalCount"] == 1


async def test_set_stock(empty: Harness) -> None:
    await create(empty)
    result = (await empty.data(SET_STOCK, {"sku": "TM-1-R", "onHand": 12}, ADMIN))["setStock"]
    assert result["variant"]["stock"] == {"onHand": 12, "reserved": 0, "available": 12}
    negative = (await empty.data(SET_STOCK, {"sku": "TM-1-R", "onHand": -1}, ADMIN))["setStock"]
    assert negative["__typename"] == "ValidationError" and negative["fieldErrors"][0]["field"] == "onHand"
    assert await empty.error_code(SET_STOCK, {"sku": "NOPE", "onHand": 1}, ADMIN) == "NOT_FOUND"


async def test_set_stock_never_below_reserved(empty: Harness) -> None:
    await create(empty)
    outcome = await empty.service.inventory.reserve("order-1", [("TM-1", 3)])
    assert outcome.state.value == "reserved"  # type: ignore[union-attr]
    refused = (await empty.data(SET_STOCK, {"sku": "TM-1", "onHand": 2}, ADMIN))["setStock"]
    assert refused["__typename"] == "ValidationError"
    assert "reserved" in refused["fieldErrors"][0]["message"]
    ok = (await empty.data(SET_STOCK, {"sku": "TM-1", "onHand": 3}, ADMIN))["setStock"]
    assert ok["variant"]["stock"] == {"onHand": 3, "reserved": 3, "available": 0}
    # A variant that holds reserved units cannot be removed by an update.
    product_id = ok["variant"]["product"]["id"]
    dropped = (await empty.data(UPDATE, {"id": product_id, "input": {"variants": [
        {"sku": "TM-1-R", "price": {"amount": 100, "currency": "USD"}}]}}, ADMIN))["updateProduct"]
    assert dropped["__typename"] == "ValidationError"


@pytest.mark.parametrize(("change", "field"), [
    ({"name": "   "}, "input.name"),
    ({"category": ""}, "input.category"),
    ({"variants": []}, "input.variants"),
    ({"variants": [{"sku": "X-1", "price": {"amount": 0, "currency": "USD"}}]}, "input.variants[0].price.amount"),
    ({"variants": [{"sku": "X-1", "price": {"amount": -5, "currency": "USD"}}]}, "input.variants[0].price.amount"),
    ({"variants": [{"sku": "X-1", "price": {"amount": 100, "currency": "DOLLARS"}}]},
     "input.variants[0].price.currency"),
    ({"variants": [{"sku": "X-1", "price": {"amount": 100, "currency": "XYZ"}}]}, "input.variants[0].price.currency"),
    ({"variants": [{"sku": "bad sku!", "price": {"amount": 100, "currency": "USD"}}]}, "input.variants[0].sku"),
    ({"variants": [{"sku": "D-1", "price": {"amount": 1, "currency": "USD"}},
                   {"sku": "D-1", "price": {"amount": 1, "currency": "USD"}}]}, "input.variants[1].sku"),
    ({"variants": [{"sku": "D-1", "price": {"amount": 1, "currency": "USD"}},
                   {"sku": "D-2", "price": {"amount": 1, "currency": "EUR"}}]}, "input.variants"),
    ({"variants": [{"sku": "S-1", "price": {"amount": 1, "currency": "USD"}, "onHand": -3}]},
     "input.variants[0].onHand"),
    ({"slug": "Not A Slug"}, "input.slug"),
    ({"images": ["javascript:alert(1)"]}, "input.images[0]"),
])
async def test_validation_errors_are_typed(empty: Harness, change: dict, field: str) -> None:
    data = await empty.data(CREATE, {"input": {**product_input(), **change}}, ADMIN)
    result = data["createProduct"]
    assert result["__typename"] == "ValidationError", result
    assert field in [e["field"] for e in result["fieldErrors"]], result
    assert (await empty.data("{ products { totalCount } }"))["products"]["totalCount"] == 0


async def test_sku_and_slug_must_be_unique(empty: Harness) -> None:
    first = await create(empty)
    clash = (await empty.data(CREATE, {"input": product_input(name="Other Mug", sku="TM-1")}, ADMIN))["createProduct"]
    assert clash["__typename"] == "ValidationError"
    assert clash["fieldErrors"][0]["field"] == "input.variants[0].sku"
    same_slug = (await empty.data(CREATE, {"input": product_input(sku="ZZ-1")}, ADMIN))["createProduct"]
    assert same_slug["__typename"] == "ValidationError" and same_slug["fieldErrors"][0]["field"] == "input.slug"
    other = await create(empty, name="Second Mug", sku="SM-1")
    steal = (await empty.data(UPDATE, {"id": other["id"], "input": {"variants": [
        {"sku": "TM-1-R", "price": {"amount": 100, "currency": "USD"}}]}}, ADMIN))["updateProduct"]
    assert steal["__typename"] == "ValidationError"
    assert first["id"] != other["id"]


async def test_writes_need_the_catalog_write_scope(empty: Harness) -> None:
    variables = {"input": product_input()}
    assert await empty.error_code(CREATE, variables) == "UNAUTHENTICATED"
    assert await empty.error_code(CREATE, variables, bearer("bob")) == "FORBIDDEN"
    assert await empty.error_code(CREATE, variables, bearer("bob", "inventory:write")) == "FORBIDDEN"
    assert await empty.error_code(CREATE, variables, {"Authorization": "Bearer garbage"}) == "UNAUTHENTICATED"
    product = await create(empty)
    assert await empty.error_code(ARCHIVE, {"id": product["id"]}, bearer("bob")) == "FORBIDDEN"
    assert await empty.error_code(SET_STOCK, {"sku": "TM-1", "onHand": 1}) == "UNAUTHENTICATED"
    assert await empty.error_code(UPDATE, {"id": product["id"], "input": {"name": "x"}}, bearer("b")) == "FORBIDDEN"


async def test_unknown_and_malformed_ids_in_writes(empty: Harness) -> None:
    assert await empty.error_code(ARCHIVE, {"id": "0" * 24}, ADMIN) == "NOT_FOUND"
    assert await empty.error_code(ARCHIVE, {"id": "nope"}, ADMIN) == "BAD_USER_INPUT"
    assert await empty.error_code(UPDATE, {"id": "f" * 24, "input": {"name": "x"}}, ADMIN) == "NOT_FOUND"
