"""Catalog search on normalized tokens: case and accents folded, word prefixes, several words, kept
up to date by every write and by the start-up backfill for documents written before it."""

from __future__ import annotations

from datetime import UTC, datetime

from subgraphs.products.catalog import new_product_doc
from subgraphs.products.ids import new_id
from subgraphs.products.search import document_tokens, fold
from subgraphs.products.validation import ProductSpec, VariantSpec
from tests.products.support import Harness
from tests.support.tokens import bearer

ADMIN = bearer("admin-1", "catalog:write")
CREATE = """mutation($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ... on ProductSuccess { product { id } } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) { __typename } }"""
SEARCH = """query($search: String!) {
  products(first: 50, filter: {search: $search}, sortBy: NAME) { totalCount edges { node { name } } } }"""


async def create(h: Harness, name: str, sku: str, description: str = "") -> str:
    result = await h.data(CREATE, {"input": {
        "name": name, "category": "Search Things", "description": description,
        "variants": [{"sku": sku, "price": {"amount": 1000, "currency": "EUR"}, "onHand": 1}]}}, ADMIN)
    assert result["createProduct"]["__typename"] == "ProductSuccess", result
    return str(result["createProduct"]["product"]["id"])


async def names(h: Harness, search: str) -> list[str]:
    found = (await h.data(SEARCH, {"search": search}))["products"]
    assert found["totalCount"] == len(found["edges"])
    return sorted(edge["node"]["name"] for edge in found["edges"])


async def test_search_folds_case_and_accents_and_matches_word_prefixes(empty: Harness) -> None:
    """Regression: "creme" did not find "Crème" (a case-insensitive regex keeps accents)."""
    await create(empty, "Crème Brûlée Torch", "CBT-1", "Caramelises sugar in seconds.")
    await create(empty, "Café Table", "CT-1", "Solid oak, seats four.")
    await create(empty, "Cafeteria Tray", "TRAY-9")
    await create(empty, "Running Shoes", "RUN-42")
    assert await names(empty, "creme") == ["Crème Brûlée Torch"]
    assert await names(empty, "CRÈME brûlée") == ["Crème Brûlée Torch"]
    assert await names(empty, "brul") == ["Crème Brûlée Torch"]  # a word prefix
    assert await names(empty, "CAFE") == sorted(["Café Table", "Cafeteria Tray"])
    assert await names(empty, "cafe tab") == ["Café Table"]  # every word must match
    assert await names(empty, "tray cafeteria") == ["Cafeteria Tray"]  # in any order
    assert await names(empty, "OAK") == ["Café Table"]  # the description
    assert await names(empty, "run-42") == ["Running Shoes"]  # the SKU
    assert await names(empty, "42") == ["Running Shoes"]
    assert await names(empty, "hoes") == []  # prefixes, not substrings
    assert await names(empty, "café zebra") == []
    assert await names(empty, "?!") == []  # no word at all: nothing, not everything


async def test_search_follows_every_write(empty: Harness) -> None:
    product_id = await create(empty, "Harbor Lantern", "HL-7")
    assert await names(empty, "lantern") == ["Harbor Lantern"]
    result = await empty.data(UPDATE, {"id": product_id, "input": {"name": "Harbor Lamp",
                                                                   "description": "Brass and glass."}}, ADMIN)
    assert result["updateProduct"]["__typename"] == "ProductSuccess"
    assert await names(empty, "lantern") == []
    assert await names(empty, "lamp brass") == ["Harbor Lamp"]


async def test_products_written_before_search_fields_are_backfilled_at_start(empty: Harness) -> None:
    spec = ProductSpec(name="Zebra Notebook", slug="zebra-notebook", category="Books", description="Dotted.",
                       images=[], variants=[VariantSpec("ZN-1", [], 800, "EUR", 3)])
    doc = new_product_doc(spec, new_id(), datetime.now(UTC))
    for field in ("search_tokens", "search_version"):
        doc.pop(field)
    await empty.service.catalog.store.products.insert_one(doc)
    assert await names(empty, "zebra") == []  # and this empty answer is now cached
    await empty.service.start()  # a restart: the backfill derives the fields, the listings are invalidated
    assert await names(empty, "zebra dotted") == ["Zebra Notebook"]
    stored = await empty.service.catalog.store.raw(doc["_id"])
    assert stored is not None and stored["rev"] == doc["rev"]  # served data unchanged: no new revision


def test_tokens() -> None:
    assert fold("Ærøskøbing ÉTÉ Straße") == "ærøskøbing ete strasse"
    assert document_tokens(["Crème-brûlée, crème!", "MUG-001_02"]) == ["creme", "brulee", "mug", "001", "02"]
