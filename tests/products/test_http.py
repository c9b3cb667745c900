"""The products service over real HTTP (uvicorn + httpx): SDL, reads, writes, auth, bad input, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from subgraphs.kit.settings import Settings
from subgraphs.products.app import create_app
from subgraphs.products.config import ProductsConfig
from subgraphs.products.demo import demo_documents
from tests.products.support import count_queries
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi
from tests.support.tokens import bearer

ADMIN = bearer("admin-1", "catalog:write")
ORDERS = bearer("service:orders", "inventory:write")


@pytest.fixture
async def app(redis_url: str, mongo: TestMongo) -> Starlette:
    return create_app(Settings.from_env("products", env={"REDIS_URL": redis_url, **mongo.env("products")}),
                      ProductsConfig(cache_enabled=True, seed_demo=True))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        yield http


async def gql(client: httpx.AsyncClient, query: str, variables: dict | None = None,
              headers: dict | None = None) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers=headers or {})
    assert response.status_code < 500, response.text
    body: dict = response.json()
    return body


def code(body: dict) -> str:
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])


async def test_sdl_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    assert (await client.get("/ready")).json() == {"status": "ready", "mongo": True, "redis": True,
                                                   "products-cache-repair": True}
    sdl = (await gql(client, "{ _service { sdl } }"))["data"]["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2' in sdl
    assert 'type Product @key(fields: "id")' in sdl
    assert 'type User @key(fields: "id")' in sdl
    assert "type Money @shareable" in sdl
    assert "  me: User\n" in sdl  # products alone serves `me` (not shareable)
    assert "attempt: Int! = 0\n  ): StockReservationResult! @inaccessible" in sdl  # reserveStock
    assert "attempt: Int = null\n  ): StockReleaseResult! @inaccessible" in sdl  # releaseStock
    assert "union StockReservationResult @inaccessible = StockReservation | InsufficientStock | UnknownVariant | " \
           "StockReservationReleased" in sdl
    assert "commitStock(orderId: ID!): StockCommitResult! @inaccessible" in sdl


async def test_browse_over_http(client: httpx.AsyncClient) -> None:
    q = """query($after: String) { products(first: 25, after: $after, sortBy: PRICE_ASC) {
        totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(client, q, {"after": after}))["data"]["products"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 60
    assert code(await gql(client, q, {"after": "garbage"})) == "BAD_USER_INPUT"
    assert code(await gql(client, "{ products(first: 1000) { totalCount } }")) == "BAD_USER_INPUT"
    assert code(await gql(client, '{ product(id: "nope") { id } }')) == "BAD_USER_INPUT"
    assert (await gql(client, '{ product(id: "000000000000000000000000") { id } }'))["data"] == {"product": None}


async def test_admin_and_auth_over_http(client: httpx.AsyncClient) -> None:
    create = """mutation { createProduct(input: {name: "Http Lamp", category: "Lighting",
        variants: [{sku: "HL-1", price: {amount: 4500, currency: "EUR"}, onHand: 2}]}) {
        __typename ... on ProductSuccess { product { id slug } } ... on ValidationError { fieldErrors { field } } } }"""
    assert code(await gql(client, create)) == "UNAUTHENTICATED"
    assert code(await gql(client, create, headers=bearer("eve"))) == "FORBIDDEN"
    assert code(await gql(client, create, headers={"Authorization": "Basic abc"})) == "UNAUTHENTICATED"
    created = (await gql(client, create, headers=ADMIN))["data"]["createProduct"]
    assert created["__typename"] == "ProductSuccess" and created["product"]["slug"] == "http-lamp"
    again = (await gql(client, create, headers=ADMIN))["data"]["createProduct"]
    assert again["__typename"] == "ValidationError"
    found = await gql(client, '{ products(filter: {search: "http lamp"}) { edges { node { id } } } }')
    assert found["data"]["products"]["edges"] == [{"node": {"id": created["product"]["id"]}}]


async def test_cart_over_http(client: httpx.AsyncClient) -> None:
    sku = next(v["sku"] for d in demo_documents() for v in d["variants"] if v["stock"]["available"] >= 5)
    add = """mutation($sku: String!, $q: Int!) { addToCart(sku: $sku, quantity: $q) {
        __typename ... on Cart { totalQuantity subtotal { amount } } ... on InsufficientStock { available } } }"""
    me = bearer("carol")
    assert code(await gql(client, add, {"sku": sku, "q": 1})) == "UNAUTHENTICATED"
    assert (await gql(client, add, {"sku": sku, "q": 2}, me))["data"]["addToCart"]["totalQuantity"] == 2
    assert code(await gql(client, add, {"sku": sku, "q": 0}, me)) == "BAD_USER_INPUT"
    assert code(await gql(client, add, {"sku": sku, "q": -3}, me)) == "BAD_USER_INPUT"
    assert code(await gql(client, add, {"sku": sku, "q": 100_000}, me)) == "BAD_USER_INPUT"
    huge = await gql(client, add, {"sku": sku, "q": 10**12}, me)  # not an Int: refused before execution
    assert huge.get("errors") and not huge.get("data")
    cart = await gql(client, "{ me { id cart { totalQuantity lines { sku } } } }", headers=me)
    assert cart["data"]["me"] == {"id": "carol", "cart": {"totalQuantity": 2, "lines": [{"sku": sku}]}}
    cleared = await gql(client, "mutation { clearCart { totalQuantity } }", headers=me)
    assert cleared["data"]["clearCart"]["totalQuantity"] == 0


async def test_concurrent_reservations_over_http(client: httpx.AsyncClient) -> None:
    create = """mutation { createProduct(input: {name: "Limited Drop", category: "Drops",
        variants: [{sku: "DROP-1", price: {amount: 9900, currency: "USD"}, onHand: 10}]}) { __typename } }"""
    assert (await gql(client, create, headers=ADMIN))["data"]["createProduct"]["__typename"] == "ProductSuccess"
    reserve = """mutation($o: ID!) { reserveStock(orderId: $o, lines: [{sku: "DROP-1", quantity: 1}]) {
        __typename } }"""
    bodies = await asyncio.gather(*(gql(client, reserve, {"o": f"http-order-{n}"}, ORDERS) for n in range(100)))
    kinds = [b["data"]["reserveStock"]["__typename"] for b in bodies]
    assert kinds.count("StockReservation") == 10 and kinds.count("InsufficientStock") == 90
    stock = await gql(client, '{ variant(sku: "DROP-1") { stock { onHand reserved available } } }')
    assert stock["data"]["variant"]["stock"] == {"onHand": 10, "reserved": 10, "available": 0}
    assert code(await gql(client, reserve, {"o": "x"}, bearer("eve"))) == "FORBIDDEN"


async def test_entities_over_http_make_one_query(app: Starlette, client: httpx.AsyncClient) -> None:
    counter = count_queries(app.state.products)
    ids = [d["_id"] for d in demo_documents()[10:30]]
    body = await gql(client, "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name } } }",
                     {"r": [{"__typename": "Product", "id": i} for i in ids]})
    assert [e["id"] for e in body["data"]["_entities"]] == ids
    assert counter.queries == 1
    await gql(client, "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id } } }",
              {"r": [{"__typename": "Product", "id": i} for i in ids]})
    assert counter.queries == 1  # all twenty from Redis now
