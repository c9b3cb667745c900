"""Plans run as a dependency graph (gateway.execution.schedule): a fetch waits only for the fetches
whose writes it reads, so a slow sibling does not hold up a branch that does not need it."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from gateway.config import Settings
from gateway.execution.schedule import schedule
from gateway.planning.nodes import FlattenNode
from gateway.runtime import Gateway
from tests.support.raw_http import Handler, RawServers, Request, answering, response

from . import shop

QUERY = "{ topProducts { upc inStock reviews { body author { name } } } }"


def _gateway(urls: dict[str, str], timeout: float = 10.0) -> Gateway:
    return Gateway(shop.SUPERGRAPH, Settings(subgraph_urls=urls, subgraph_timeout_seconds=timeout))


def test_the_author_fetch_waits_for_reviews_only() -> None:
    gateway = _gateway({})
    plan = gateway.plan(gateway.prepare(QUERY, None))
    assert plan.node is not None
    steps = schedule(plan.node)
    assert steps is not None
    services = [step.node.node.service if isinstance(step.node, FlattenNode) else step.node.service for step in steps]
    assert services == ["products", "inventory", "reviews", "accounts"]
    assert [step.after for step in steps] == [(), (0,), (0,), (0, 2)]  # accounts: not after inventory


def test_a_mutation_or_a_chain_keeps_the_tree() -> None:
    gateway = _gateway({})
    two_fields = 'mutation { addReview(upc: "1", body: "b") { id } login(username: "a") { id } }'
    mutation = gateway.plan(gateway.prepare(two_fields, None))
    chain = gateway.plan(gateway.prepare("{ topProducts { reviews { author { name } } } }", None))
    assert mutation.node is not None and chain.node is not None
    assert schedule(mutation.node) is None and schedule(chain.node) is None


async def _run(raw_servers: RawServers, inventory: Handler, accounts: Handler) -> dict[str, Any]:
    """QUERY through a gateway on raw subgraphs: products and reviews answer at once, inventory and
    accounts as the test's handlers do."""
    products = await raw_servers.start(answering(b'{"data":{"topProducts":[{"__typename":"Product","upc":"1"}]}}'))
    reviews = await raw_servers.start(answering(orjson.dumps({"data": {"_entities": [
        {"__typename": "Product", "reviews": [{"body": "fine", "author": {"__typename": "User", "id": "u1"}}]}]}})))
    urls = {
        "products": products.url,
        "inventory": (await raw_servers.start(inventory)).url,
        "reviews": reviews.url,
        "accounts": (await raw_servers.start(accounts)).url,
    }
    gateway = _gateway(urls, timeout=5.0)
    try:
        return await gateway.execute(QUERY)
    finally:
        await gateway.close()


async def test_a_slow_sibling_does_not_hold_up_the_other_branch(raw_servers: RawServers) -> None:
    accounts_asked = asyncio.Event()
    order: list[str] = []

    async def inventory(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        await accounts_asked.wait()  # level by level, this never happens before the timeout
        order.append("inventory answers")
        writer.write(response(b'{"data":{"_entities":[{"__typename":"Product","inStock":true}]}}'))

    async def accounts(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        order.append("accounts asked")
        accounts_asked.set()
        writer.write(response(b'{"data":{"_entities":[{"__typename":"User","name":"Ada"}]}}'))

    result = await _run(raw_servers, inventory, accounts)
    assert result == {"data": {"topProducts": [
        {"upc": "1", "inStock": True, "reviews": [{"body": "fine", "author": {"name": "Ada"}}]}]}}
    assert order == ["accounts asked", "inventory answers"]


async def test_errors_keep_the_plan_order(raw_servers: RawServers) -> None:
    accounts_done = asyncio.Event()

    async def inventory(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        await accounts_done.wait()  # the inventory error arrives last, but comes first in the plan
        writer.write(response(b'{"data":null,"errors":[{"message":"inventory down"}]}'))

    async def accounts(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(response(b'{"data":{"_entities":[null]},"errors":[{"message":"no such user"}]}'))
        await writer.drain()
        accounts_done.set()

    result = await _run(raw_servers, inventory, accounts)
    assert [error["message"] for error in result["errors"]] == ["inventory down", "no such user"]
