"""Catalog reads against the schema: lookups, search, filters, sorting and keyset pagination."""

from __future__ import annotations

import base64

import pytest

from subgraphs.products.demo import demo_documents
from tests.products.support import Harness

LIST = """
query($first: Int!, $after: String, $filter: ProductFilter, $sort: ProductSort!) {
  products(first: $first, after: $after, filter: $filter, sortBy: $sort) {
    totalCount
    edges { cursor node { id name category createdAt priceRange { min { amount } }
                          variants { sku price { amount } stock { available } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on ProductSuccess { product { id name slug status variants { id sku stock { onHand available } } } }
    ... on ValidationError { message fieldErrors { field message } }
  }
}
"""


async def page(h: Harness, first: int = 20, after: str | None = None, filter: dict | None = None,
               sort: str = "NEWEST") -> dict:
    data = await h.data(LIST, {"first": first, "after": after, "filter": filter, "sort": sort})
    return data["products"]


async def walk(h: Harness, first: int, sort: str, filter: dict | None = None) -> list[dict]:
    nodes, after = [], None
    while True:
        p = await page(h, first, after, filter, sort)
        nodes += [e["node"] for e in p["edges"]]
        if not p["pageInfo"]["hasNextPage"]:
            assert len(p["edges"]) <= first
            return nodes
        after = p["pageInfo"]["endCursor"]


async def test_demo_catalog_is_listed_and_counted(harness: Harness) -> None:
    p = await page(harness)
    assert p["totalCount"] == 60 and len(p["edges"]) == 20
    assert p["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False,
                             "startCursor": p["edges"][0]["cursor"], "endCursor": p["edges"][-1]["cursor"]}
    categories = (await harness.data("{ categories { name slug productCount } }"))["categories"]
    assert len(categories) >= 5 and sum(c["productCount"] for c in categories) == 60


@pytest.mark.parametrize("sort", ["NEWEST", "PRICE_ASC", "PRICE_DESC", "NAME"])
async def test_pages_cover_the_catalog_once_in_order(harness: Harness, sort: str) -> None:
    nodes = await walk(harness, 7, sort)
    assert len(nodes) == 60 and len({n["id"] for n in nodes}) == 60
    keys = {
        "NEWEST": lambda n: (-_ts(n["createdAt"]), n["id"]),
        "PRICE_ASC": lambda n: (n["priceRange"]["min"]["amount"], n["id"]),
        "PRICE_DESC": lambda n: (-n["priceRange"]["min"]["amount"], n["id"]),
        "NAME": lambda n: (n["name"].casefold(), n["id"]),
    }[sort]
    assert nodes == sorted(nodes, key=keys)


def _ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value).timestamp()


async def test_last_page_and_exact_fit(harness: Harness) -> None:
    first = await page(harness, 50)
    last = await page(harness, 50, first["pageInfo"]["endCursor"])
    assert len(last["edges"]) == 10 and last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["hasPreviousPage"] is True
    whole = await page(harness, 60)
    assert len(whole["edges"]) == 60 and whole["pageInfo"]["hasNextPage"] is False
    beyond = await page(harness, 10, whole["pageInfo"]["endCursor"])
    assert beyond["edges"] == [] and beyond["pageInfo"]["hasNextPage"] is False
    none = await page(harness, 0)
    assert none["edges"] == [] and none["totalCount"] == 60 and none["pageInfo"]["hasNextPage"] is True


async def test_cursor_is_stable_when_products_are_added_before_it(harness: Harness, admin: dict) -> None:
    first = await page(harness, 10, sort="NAME")
    expected_next = await page(harness, 10, first["pageInfo"]["endCursor"], sort="NAME")
    # A product that sorts before the cursor does not shift the next page (no offsets).
    result = await harness.data(CREATE, {"input": _product_input("Aaa First Product", "AAA-1")}, admin)
    assert result["createProduct"]["__typename"] == "ProductSuccess"
    again = await page(harness, 10, first["pageInfo"]["endCursor"], sort="NAME")
    assert [e["node"]["id"] for e in again["edges"]] == [e["node"]["id"] for e in expected_next["edges"]]
    assert again["totalCount"] == 61


async def test_search_is_case_insensitive_and_escaped(harness: Harness) -> None:
    docs = demo_documents()
    target = docs[0]["name"]
    found = await walk(harness, 100, "NAME", {"search": target.upper()})
    assert target in [n["name"] for n in found]
    in_description = await page(harness, 100, filter={"search": "RECYCLED MATERIALS"})
    expected = [d for d in docs if "recycled materials" in d["description"]]
    assert in_description["totalCount"] == len(expected) > 0
    # Regex metacharacters are matched literally, never as a pattern.
    assert (await page(harness, filter={"search": ".*"}))["totalCount"] == 0
    assert (await page(harness, filter={"search": "(unclosed["}))["totalCount"] == 0


async def test_filters_category_price_and_stock(harness: Harness) -> None:
    docs = demo_documents()
    by_slug = await page(harness, 100, filter={"category": "home-kitchen"})
    by_name = await page(harness, 100, filter={"category": "Home & Kitchen"})
    assert by_slug["totalCount"] == by_name["totalCount"] == 10
    assert {e["node"]["category"] for e in by_slug["edges"]} == {"Home & Kitchen"}

    priced = await page(harness, 100, filter={"minPrice": 2000, "maxPrice": 5000})
    expected = [d for d in docs if any(2000 <= v["price"]["amount"] <= 5000 for v in d["variants"])]
    assert priced["totalCount"] == len(expected) > 0
    for edge in priced["edges"]:
        assert any(2000 <= v["price"]["amount"] <= 5000 for v in edge["node"]["variants"])

    in_stock = await page(harness, 100, filter={"inStock": True})
    out_of_stock = await page(harness, 100, filter={"inStock": False})
    assert in_stock["totalCount"] + out_of_stock["totalCount"] == 60
    for edge in in_stock["edges"]:
        assert any(v["stock"]["available"] > 0 for v in edge["node"]["variants"])
    for edge in out_of_stock["edges"]:
        assert all(v["stock"]["available"] == 0 for v in edge["node"]["variants"])

    combined = await walk(harness, 3, "PRICE_DESC", {"category": "outdoor", "inStock": True, "maxPrice": 30000})
    assert all(n["category"] == "Outdoor" for n in combined)


async def test_invalid_cursors_and_page_sizes_are_bad_user_input(harness: Harness) -> None:
    valid = (await page(harness, 5))["pageInfo"]["endCursor"]
    forged = base64.urlsafe_b64encode(b'[1,"NEWEST","x","zzz"]').decode()
    for cursor in ["not-a-cursor", "", "!!!", forged, base64.urlsafe_b64encode(b"{}").decode(), "A" * 600]:
        code = await harness.error_code(LIST, {"first": 5, "after": cursor, "filter": None, "sort": "NEWEST"})
        assert code == "BAD_USER_INPUT", cursor
    # A cursor from another sort order is refused too.
    assert await harness.error_code(LIST, {"first": 5, "after": valid, "sort": "NAME"}) == "BAD_USER_INPUT"
    for first in [101, 10_000, -1]:
        assert await harness.error_code(LIST, {"first": first, "sort": "NEWEST"}) == "BAD_USER_INPUT"
    bad_filters = [{"minPrice": -1}, {"minPrice": 500, "maxPrice": 100}, {"search": "x" * 101}]
    for bad in bad_filters:
        assert await harness.error_code(LIST, {"first": 5, "filter": bad, "sort": "NEWEST"}) == "BAD_USER_INPUT"


async def test_lookups_by_id_slug_and_sku(harness: Harness) -> None:
    doc = demo_documents()[3]
    sku = doc["variants"][0]["sku"]
    q = """query($id: ID!, $slug: String!, $sku: String!, $skus: [String!]!) {
      product(id: $id) { id name slug status inStock variants { sku } }
      productBySlug(slug: $slug) { id }
      variant(sku: $sku) { sku price { amount currency } product { id } options { name value } }
      variants(skus: $skus) { sku }
    }"""
    data = await harness.data(q, {"id": doc["_id"], "slug": doc["slug"], "sku": sku,
                                  "skus": [sku, "NOPE-1", doc["variants"][-1]["sku"]]})
    assert data["product"]["name"] == doc["name"] and data["product"]["status"] == "ACTIVE"
    assert data["productBySlug"]["id"] == doc["_id"]
    assert data["variant"]["product"]["id"] == doc["_id"]
    assert data["variant"]["price"] == {"amount": doc["variants"][0]["price"]["amount"], "currency": "USD"}
    assert data["variants"] == [{"sku": sku}, None, {"sku": doc["variants"][-1]["sku"]}]


async def test_unknown_and_malformed_ids(harness: Harness) -> None:
    q = "query($id: ID!) { product(id: $id) { id } }"
    assert (await harness.data(q, {"id": "0" * 24}))["product"] is None
    for bad in ["nope", "123", "g" * 24, "0" * 25, "' OR 1=1"]:
        assert await harness.error_code(q, {"id": bad}) == "BAD_USER_INPUT"
    assert (await harness.data('{ variant(sku: "NO-SUCH-SKU") { sku } }'))["variant"] is None
    too_many = {"skus": [f"S-{i}" for i in range(101)]}
    assert await harness.error_code("query($skus: [String!]!) { variants(skus: $skus) { sku } }",
                                    too_many) == "BAD_USER_INPUT"


def _product_input(name: str, sku: str, **extra: object) -> dict:
    return {"name": name, "category": "Test Things", "description": "for tests",
            "variants": [{"sku": sku, "price": {"amount": 1250, "currency": "USD"}, "onHand": 4,
                          "options": [{"name": "size", "value": "M"}]}], **extra}


@pytest.fixture
def admin() -> dict:
    from tests.support.tokens import bearer

    return bearer("admin-1", "catalog:write")
