"""The gateway's cache over the real stack (every service a process, the gateway in front, a real
Redis): catalog reads are served from the cache, and an admin's price change is visible at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scripts.stack import Stack
from subgraphs.kit.auth import issue_token
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
    gateway = running.url(running.instance_name("gateway"))
    running.process_env = {"products": {"GATEWAY_CACHE_INVALIDATION_URL": f"{gateway}/cache/invalidation",
                                        "GATEWAY_CACHE_INVALIDATION_TOKEN": TOKEN}}
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
