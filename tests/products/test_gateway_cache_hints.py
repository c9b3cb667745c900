"""What the products service tells the gateway's cache, over real HTTP: Cache-Control hints per
operation, `extensions.invalidation` on admin writes, and stock writes that bypass the gateway sent to
its invalidation endpoint through the event stream, retried when the gateway refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from subgraphs.kit.settings import Settings
from subgraphs.products.app import create_app
from subgraphs.products.config import ProductsConfig
from subgraphs.products.demo import demo_documents
from tests.support.asgi import read_body
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi, wait_for
from tests.support.tokens import bearer

ADMIN = bearer("admin-1", "catalog:write")
ORDERS = bearer("service:orders", "inventory:write")
TOKEN = "gateway-token"


class FakeGateway:
    """The gateway's invalidation endpoint: records what it is sent; refuses the first `refuse` calls."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.received: list[Any] = []
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        self.calls += 1
        authorized = dict(scope["headers"]).get(b"authorization") == f"Bearer {TOKEN}".encode()
        status = 401 if not authorized else 503 if self.calls <= self.refuse else 200
        if status == 200:
            self.received.append(orjson.loads(body))
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[FakeGateway, str]]:
    fake = FakeGateway(refuse=1)
    async with serve_asgi(fake) as base:
        yield fake, f"{base}/cache/invalidation"


@pytest.fixture
async def client(
    redis_url: str, mongo: TestMongo, gateway: tuple[FakeGateway, str]
) -> AsyncIterator[httpx.AsyncClient]:
    config = ProductsConfig(cache_enabled=True, seed_demo=True, gateway_invalidation_url=gateway[1],
                            gateway_invalidation_token=TOKEN)
    app = create_app(Settings.from_env("products", env={"REDIS_URL": redis_url, **mongo.env("products")}), config)
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        yield http


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None) -> httpx.Response:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers=headers or {})
    assert response.status_code == 200, response.text
    return response


async def test_catalog_reads_are_public_and_stock_is_short(client: httpx.AsyncClient) -> None:
    listing = await post(client, "{ products(first: 2) { nodes { id name priceRange { min { amount } } } } }")
    assert listing.headers["cache-control"] == "public, max-age=60"
    stock = await post(client, "{ products(first: 2) { nodes { id inStock variants { stock { available } } } } }")
    assert stock.headers["cache-control"] == "public, max-age=5"
    product_id = demo_documents()[0]["_id"]
    entities = await post(client, "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { name } } }",
                          {"r": [{"__typename": "Product", "id": product_id}]})
    assert entities.json()["data"]["_entities"][0]["name"]
    assert entities.headers["cache-control"] == "public, max-age=60"


def _tags(response: httpx.Response) -> list[str]:
    return [tag.strip() for tag in response.headers["cache-tag"].split(",")]


async def test_answers_are_tagged_with_their_products_and_what_else_they_depend_on(client: httpx.AsyncClient) -> None:
    listing = await post(client, "{ products(first: 3) { nodes { id variants { stock { available } } } } }")
    ids = [node["id"] for node in listing.json()["data"]["products"]["nodes"]]
    assert len(ids) == 3
    assert _tags(listing) == sorted(["catalog", *[f"product:{i}" for i in ids]])
    filtered = await post(client, "{ products(first: 1, filter: {inStock: true}) { totalCount nodes { id } } }")
    assert "instock" in _tags(filtered) and "catalog" in _tags(filtered)
    one = await post(client, "query($id: ID!) { product(id: $id) { name inStock } }", {"id": ids[0]})
    assert _tags(one) == [f"product:{ids[0]}"]  # by id: no other product's change can alter it
    sku = demo_documents()[0]["variants"][0]["sku"]
    variant = await post(client, "query($s: String!) { variant(sku: $s) { sku } }", {"s": sku})
    assert _tags(variant) == ["catalog", f"product:{demo_documents()[0]['_id']}"]
    entities = await post(client, "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { name } } }",
                          {"r": [{"__typename": "Product", "id": i} for i in ids[:2]]})
    assert _tags(entities) == sorted(f"product:{i}" for i in ids[:2])


async def test_uncacheable_answers_carry_no_tags(client: httpx.AsyncClient) -> None:
    mixed = await post(client, "{ products(first: 1) { nodes { id } } me { id } }", headers=bearer("shopper-1"))
    assert mixed.headers["cache-control"] == "no-store" and "cache-tag" not in mixed.headers


async def test_carts_and_me_are_never_cached(client: httpx.AsyncClient) -> None:
    me = await post(client, "{ me { id } }", headers=bearer("shopper-1"))
    assert me.headers["cache-control"] == "no-store"
    mixed = await post(client, "{ products(first: 1) { nodes { id } } me { id } }", headers=bearer("shopper-1"))
    assert mixed.headers["cache-control"] == "no-store"
    refused = await post(client, "{ me { id } }")  # an error: never cached
    assert refused.json()["errors"] and refused.headers["cache-control"] == "no-store"


async def test_admin_writes_ask_the_gateway_to_invalidate(
    client: httpx.AsyncClient, gateway: tuple[FakeGateway, str]
) -> None:
    product_id = demo_documents()[0]["_id"]
    response = await post(client, """mutation($id: ID!) { updateProduct(id: $id, input: {name: "Renamed"}) {
        ... on ProductSuccess { product { name } } } }""", {"id": product_id}, ADMIN)
    assert response.json()["extensions"]["invalidation"] == [
        {"kind": "entity", "type": "Product", "key": {"id": product_id}},
        {"kind": "tag", "tag": f"product:{product_id}"}, {"kind": "tag", "tag": "instock"},
        {"kind": "tag", "tag": "catalog"}]
    assert response.headers["cache-control"] == "no-store"


async def test_stock_writes_outside_the_gateway_reach_its_endpoint_retried(
    client: httpx.AsyncClient, gateway: tuple[FakeGateway, str]
) -> None:
    fake, _ = gateway
    doc = demo_documents()[0]
    sku = doc["variants"][0]["sku"]
    reserve = await post(client, """mutation($s: String!) {
        reserveStock(orderId: "o-1", lines: [{sku: $s, quantity: 1}]) { __typename } }""", {"s": sku}, ORDERS)
    assert reserve.json()["data"]["reserveStock"]["__typename"] == "StockReservation"

    async def delivered() -> bool:
        return any({"kind": "entity", "subgraph": "products", "type": "Product", "key": {"id": doc["_id"]}} in items
                   for items in fake.received)

    await wait_for(delivered, timeout=20, message="the invalidation at the gateway")
    assert fake.calls >= 2  # the first call was refused and the bus delivered the event again
    [items] = [items for items in fake.received if {"kind": "tag", "subgraph": "products", "tag": "instock"} in items]
    assert {"kind": "tag", "subgraph": "products", "tag": f"product:{doc['_id']}"} in items
    assert {"kind": "tag", "subgraph": "products", "tag": "catalog"} not in items  # a stock write: listings stay
