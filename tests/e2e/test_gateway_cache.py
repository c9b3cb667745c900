"""The gateway's cache over the real stack (every service a process, the gateway in front, a real
Redis): catalog reads are served from the cache, an admin's price change is visible at once, and a
stock change made by calling products directly (as orders does) reaches the gateway's cache through
the event stream long before the cached answer would expire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scripts.stack import Stack
from subgraphs.kit.auth import issue_token
from subgraphs.kit.service_client import ServiceClient
from subgraphs.kit.settings import DEV_JWT_SECRET
from tests.support.servers import wait_for

pytestmark = pytest.mark.slow

TOKEN = "e2e-invalidation-token"
ADMIN = {"authorization": f"Bearer {issue_token('admin-e2e', ['catalog:write'], DEV_JWT_SECRET)}"}
PRODUCT = """query($id: ID!) { product(id: $id) { id name variants { sku options { name value }
  price { amount currency } } } }"""
LISTING = "{ products(first: 5) { nodes { id name priceRange { min { amount } } } } }"
UPDATE = """mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) {
  __typename ... on ProductSuccess { product { id } } } }"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("cache-stack")
    running = Stack.on_free_ports(
        env={"GATEWAY_CACHE": "1", "GATEWAY_CACHE_INVALIDATION_TOKEN": TOKEN, "METRICS_SCRAPE_CACHE_SECONDS": "0"},
        log_dir=logs,
    )
    # stock answers may be kept a minute: only the invalidation can make a change visible sooner (the
    # stack points products at its gateway's invalidation endpoint)
    running.process_env = {"products": {"PRODUCTS_STOCK_MAX_AGE": "60"}}
    try:
        running.start()
    except RuntimeError as exc:
        pytest.fail(f"the stack did not start: {exc}\n{_tail(logs)}")
    yield running
    running.stop()


def _tail(folder: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(folder.glob("*.log")))


def _gql(client: httpx.Client, url: str, query: str, variables: dict[str, Any] | None = None,
         headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post(url, json={"query": query, "variables": variables or {}}, headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]


def _hits(client: httpx.Client, stack: Stack) -> float:
    text = client.get(f"{stack.url(stack.instance_name('gateway'))}/metrics").text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "gateway_cache_lookups_total" and sample.labels.get("result") == "hit")


def test_an_admin_price_change_is_visible_at_once_through_the_cache(stack: Stack) -> None:
    url = stack.gateway_url
    with httpx.Client(timeout=30) as client:
        listing = _gql(client, url, LISTING)["products"]["nodes"]
        product_id = listing[0]["id"]
        product = _gql(client, url, PRODUCT, {"id": product_id})["product"]
        before = _hits(client, stack)
        assert _gql(client, url, PRODUCT, {"id": product_id})["product"] == product
        assert _gql(client, url, LISTING)["products"]["nodes"] == listing

        async def served_from_cache() -> bool:
            return _hits(client, stack) >= before + 2  # the repeated product and listing reads

        asyncio.run(wait_for(served_from_cache, timeout=15, message="cache hits in the gateway's metrics"))

        new_price = product["variants"][0]["price"]["amount"] + 111
        variants = [
            {"sku": v["sku"], "options": v["options"],
             "price": {"amount": new_price if i == 0 else v["price"]["amount"], "currency": v["price"]["currency"]}}
            for i, v in enumerate(product["variants"])
        ]
        updated = _gql(client, url, UPDATE, {"id": product_id, "input": {"variants": variants}}, ADMIN)
        assert updated["updateProduct"]["__typename"] == "ProductSuccess"
        # the very next reads, with no wait: the mutation's invalidation was applied before its answer
        fresh = _gql(client, url, PRODUCT, {"id": product_id})["product"]
        assert fresh["variants"][0]["price"]["amount"] == new_price
        nodes = {n["id"]: n for n in _gql(client, url, LISTING)["products"]["nodes"]}
        assert nodes[product_id]["priceRange"]["min"]["amount"] == min(v["price"]["amount"] for v in variants)


STOCK = "query($sku: String!) { variant(sku: $sku) { sku stock { available } } }"
RESERVE = """mutation($order: ID!, $sku: String!) {
  reserveStock(orderId: $order, lines: [{sku: $sku, quantity: 1}]) { __typename } }"""


async def _reserve_directly(stack: Stack, order: str, sku: str) -> None:
    """Hold one unit of `sku` by calling products directly, as orders does: not through the gateway."""
    products = ServiceClient(f"{stack.url('products')}/graphql", caller="orders", scopes=("inventory:write",),
                             jwt_secret=DEV_JWT_SECRET, subgraph_secret=stack.subgraph_secret)
    try:
        reserved = await products.execute(RESERVE, {"order": order, "sku": sku})
    finally:
        await products.aclose()
    assert reserved["reserveStock"]["__typename"] == "StockReservation"


async def test_a_stock_change_that_bypasses_the_gateway_reaches_its_cache(stack: Stack) -> None:
    url = stack.gateway_url
    async with httpx.AsyncClient(timeout=30) as client:
        async def available(sku: str) -> int:
            response = await client.post(url, json={"query": STOCK, "variables": {"sku": sku}})
            return int(response.json()["data"]["variant"]["stock"]["available"])

        listing = (await client.post(url, json={"query": LISTING})).json()["data"]["products"]["nodes"]
        product = (await client.post(url, json={"query": PRODUCT, "variables": {"id": listing[-1]["id"]}})).json()
        sku = product["data"]["product"]["variants"][0]["sku"]
        before = await available(sku)
        assert await available(sku) == before  # now cached, for up to a minute
        await _reserve_directly(stack, "e2e-cache-order", sku)
        written = time.monotonic()

        async def fresh() -> bool:
            return await available(sku) == before - 1

        await wait_for(fresh, timeout=30, interval=0.05, message="the reservation visible through the gateway")
        print(f"stock write outside the gateway visible through it after {time.monotonic() - written:.3f}s")


def _hits_now(stack: Stack) -> float:
    with httpx.Client(timeout=30) as client:
        return _hits(client, stack)


SHOWN = "{ products(first: 2, sortBy: NAME) { nodes { id variants { sku stock { available } } } } }"
ALL = "{ products(first: 50) { nodes { id variants { sku stock { available } } } } }"


async def test_a_reservation_leaves_the_cached_listings_of_other_products(stack: Stack) -> None:
    """Products tags each answer with its products (Cache-Tag): a reservation voids the listings that
    show the product, not the others, though they show stock too."""
    url = stack.gateway_url
    async with httpx.AsyncClient(timeout=30) as client:
        async def read(query: str) -> dict[str, Any]:
            response = await client.post(url, json={"query": query})
            assert response.status_code == 200 and not response.json().get("errors"), response.text
            return dict(response.json()["data"])

        async def hits() -> float:
            return await asyncio.to_thread(_hits_now, stack)

        shown = await read(SHOWN)
        shown_ids = {node["id"] for node in shown["products"]["nodes"]}
        other = next(node for node in (await read(ALL))["products"]["nodes"]
                     if node["id"] not in shown_ids and node["variants"][0]["stock"]["available"] > 0)
        sku = other["variants"][0]["sku"]

        async def served_from_cache() -> bool:  # the first read teaches the tags, the next stores
            before = await hits()
            assert await read(SHOWN) == shown
            return await hits() > before

        await wait_for(served_from_cache, timeout=15, message="the listing served from the cache")
        await _reserve_directly(stack, "e2e-cache-other", sku)

        async def applied() -> bool:  # the invalidation reached the gateway: the product's own answer is fresh
            response = await client.post(url, json={"query": STOCK, "variables": {"sku": sku}})
            return int(response.json()["data"]["variant"]["stock"]["available"]) == \
                other["variants"][0]["stock"]["available"] - 1

        await wait_for(applied, timeout=30, interval=0.05, message="the reservation visible through the gateway")
        assert await served_from_cache(), "the listing of other products was voided by the reservation"
