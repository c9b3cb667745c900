"""Horizontal scaling on one machine: two instances of every service, of every worker and of the gateway.

The stack runs two *cells* (scripts/stack.py, `instances=2`) on one Redis and one MongoDB server (each
service its own database, shared by its two instances): gateway-1's supergraph names products-1,
orders-1, ..., and orders-1 calls products-1; cell 2 likewise. Nothing but Redis and MongoDB joins the
cells, so every check below that crosses from one gateway to the other proves that the state it needs
lives there and not in a process: the catalog cache and its invalidation (also after Redis refused one),
persisted queries, live order status, and the whole saga run by both cells' consumers and workers at once.
products-1 reaches Redis through a proxy that the test can cut.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from gateway.persisted import sha256_hex
from scripts.journey import CARD_DECLINED, CARD_OK, Journey
from scripts.stack import Stack
from subgraphs.kit import embedded_mongo
from subgraphs.kit.auth import issue_token
from subgraphs.kit.embedded_redis import EmbeddedRedis
from subgraphs.kit.events.bus import EVENTS_STREAM
from subgraphs.kit.settings import DEV_JWT_SECRET
from tests.chaos.harness import quiesce
from tests.gateway.subscriptions.test_sse import SSE, read_events
from tests.support.invariants import check_all
from tests.support.servers import wait_for
from tests.support.system_state import CONSUMER_GROUPS, SERVICES, Databases, read_stock
from tests.support.tcp_proxy import CuttableProxy

pytestmark = [pytest.mark.slow, pytest.mark.scaling]

REPAIR_SECONDS = 1.0
# After a refused invalidation, how long an instance may still serve the old entry: a repair round, plus
# the time a busy machine takes to run it.
STALENESS_BOUND = 3 * REPAIR_SECONDS + 5
FAILED_LINE = "catalog cache invalidation failed"
TRUSTED_LINE = "this process trusts the cache again"
ADMIN = {"Authorization": f"Bearer {issue_token('scale-admin', ('catalog:write', 'orders:admin'), DEV_JWT_SECRET)}"}
PRODUCT = "query P($id: ID!) { product(id: $id) { name } }"
FIRST_PRODUCT = "query { products(first: 1) { edges { node { id name } } } }"
RENAME = """mutation R($id: ID!, $name: String!) {
  updateProduct(id: $id, input: {name: $name}) { __typename ... on ProductSuccess { product { name } } }
}"""
FULFILL = """mutation F($id: ID!) {
  fulfillOrder(id: $id) { __typename ... on OrderTransitioned { order { status } } }
}"""
ORDER_STATUS = "query S($id: ID!) { order(id: $id) { status } }"
CATEGORIES_PER_CLIENT = 3
RESUME = "subscription R($id: ID!, $after: ID) { orderStatusChanged(orderId: $id, after: $after) { eventId status } }"


@dataclass
class Cells:
    stack: Stack
    gateways: list[str]
    proxy: CuttableProxy  # between products-1 and Redis
    mongo_url: str
    redis_url: str
    databases: Databases
    initial_stock: dict[str, int]
    log_dir: Path
    orders: dict[str, str]  # order id -> the status it must rest in


@pytest.fixture(scope="module")
def cells(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cells]:
    if not os.environ.get("MONGODB_URL") and not embedded_mongo.available():
        pytest.skip(f"two instances need one shared MongoDB: {embedded_mongo.unavailable_reason()}")
    logs = tmp_path_factory.mktemp("scaling-logs")
    redis = EmbeddedRedis().start()
    proxy = CuttableProxy(redis.port).start()
    prefix = f"scale_{uuid.uuid4().hex[:8]}"
    databases = Databases(**{s: f"{prefix}_{s}" for s in SERVICES}, provider_ledger=f"{prefix}_provider_ledger")
    env = {
        "REDIS_URL": redis.url,
        **{f"{s.upper()}_MONGODB_DATABASE": databases.of(s) for s in SERVICES},
        "PAYMENTS_PROVIDER_LEDGER_DATABASE": databases.provider_ledger,
        "PRODUCTS_SEED_DEMO": "1",
        "PRODUCTS_CACHE_REPAIR_SECONDS": str(REPAIR_SECONDS),
        "NOTIFICATIONS_MAILDIR": str(logs / "mail"),
        "SMTP_URL": "",
        "LOG_LEVEL": "INFO",
        # One tight limit on a root field no other test uses; the defaults stay for the rest.
        "RATE_LIMIT_ENABLED": "1",
        "RATE_LIMIT_RULES": f"categories={CATEGORIES_PER_CLIENT}/600",
    }
    stack = Stack.on_free_ports(instances=2, env=env, log_dir=logs,
                                process_env={"products-1": {"REDIS_URL": f"redis://{proxy.address}/0"}})
    try:
        try:
            stack.start(timeout=120)
        except RuntimeError as exc:
            pytest.fail(f"the stack did not start: {exc}\n{_tail_logs(logs)}")
        mongo_url = stack.mongo.url if stack.mongo is not None else os.environ["MONGODB_URL"]
        initial = asyncio.run(read_stock(mongo_url, databases.products))
        yield Cells(stack, stack.gateway_urls(), proxy, mongo_url, redis.url, databases, initial, logs, {})
    finally:
        configs = [stack.supergraph_config(cell) for cell in range(2)]
        stack.stop()
        proxy.stop()
        redis.stop()
        assert not [config for config in configs if config.exists()], "stop() leaves no config in var/"


def _tail_logs(folder: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(folder.glob("*.log")))


async def _post(url: str, query: str, variables: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(url, json={"query": query, "variables": variables or {}}, headers=headers or ADMIN)
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), response.text
    return dict(body["data"])


async def _name(url: str, product_id: str) -> str:
    return str((await _post(url, PRODUCT, {"id": product_id}))["product"]["name"])


def test_each_gateway_reaches_its_own_cell(cells: Cells) -> None:
    names = {name for name, process in cells.stack.processes if process.poll() is None}
    for cell in ("1", "2"):
        assert {f"products-{cell}", f"orders-{cell}", f"payments-{cell}", f"notifications-{cell}",
                f"orders-worker-{cell}", f"payments-worker-{cell}", f"notifications-worker-{cell}",
                f"gateway-{cell}"} <= names
    for cell, gateway in enumerate(cells.gateways):
        supergraph = cells.stack.supergraph_config(cell).read_text()
        ports = sorted({int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)/graphql", supergraph)})
        own = sorted(cells.stack.cells[cell][s] for s in SERVICES)
        assert ports == own, f"gateway {gateway} routes to {ports}, not to its cell {own}"


async def test_a_catalog_update_through_one_instance_is_visible_at_once_through_the_other(cells: Cells) -> None:
    one, two = cells.gateways
    product = (await _post(two, FIRST_PRODUCT))["products"]["edges"][0]["node"]
    assert await _name(two, product["id"]) == product["name"]  # cached in Redis by products-2
    renamed = f"{product['name']} ({uuid.uuid4().hex[:6]})"
    result = await _post(one, RENAME, {"id": product["id"], "name": renamed})
    assert result["updateProduct"]["product"]["name"] == renamed
    assert await _name(two, product["id"]) == renamed  # no wait: the write invalidated before it answered


REFUSED_ROUNDS = 3


async def test_an_invalidation_redis_refused_still_reaches_the_other_instance(cells: Cells) -> None:
    """products-1's Redis is cut while it renames a product that products-2 has cached: MongoDB takes the
    write, the invalidation fails, and products-2 must still stop serving the old name within the bound."""
    one, two = cells.gateways
    product = (await _post(two, FIRST_PRODUCT))["products"]["edges"][0]["node"]
    log = cells.log_dir / "products-1.log"
    staleness = []
    for _ in range(REFUSED_ROUNDS):
        before = await _name(two, product["id"])
        assert await _name(two, product["id"]) == before  # the entry products-2 would keep serving
        renamed = f"Renamed while Redis was cut {uuid.uuid4().hex[:6]}"
        failures, trusted = (log.read_text().count(line) for line in (FAILED_LINE, TRUSTED_LINE))
        cut_before = cells.proxy.cut_connections
        cells.proxy.cut()
        try:
            result = await _post(one, RENAME, {"id": product["id"], "name": renamed})
            assert result["updateProduct"]["product"]["name"] == renamed  # MongoDB took it; Redis refused
            answered = time.monotonic()
            assert log.read_text().count(FAILED_LINE) == failures + 1
            assert cells.proxy.cut_connections > cut_before

            async def fresh_on_two(name: str = renamed) -> bool:
                return await _name(two, product["id"]) == name

            await wait_for(fresh_on_two, timeout=STALENESS_BOUND, interval=0.05,
                           message="products-2 to stop serving the entry cached before the write")
            staleness.append(time.monotonic() - answered)
            assert await _name(one, product["id"]) == renamed  # the writer never trusts the old entries
        finally:
            cells.proxy.restore()

        async def writer_trusts_again(count: int = trusted) -> bool:
            return log.read_text().count(TRUSTED_LINE) > count

        await wait_for(writer_trusts_again, timeout=30, message="products-1 to read the cache again")
        assert await _name(one, product["id"]) == renamed
        assert await _name(two, product["id"]) == renamed
    staleness.sort()
    print(f"products-2 served the new name {staleness[len(staleness) // 2]:.2f}s (median of {len(staleness)}; "
          f"max {staleness[-1]:.2f}s) after a refused invalidation")


async def test_a_query_persisted_through_one_gateway_runs_through_the_other(cells: Cells) -> None:
    one, two = cells.gateways
    query = f"query Persisted{uuid.uuid4().hex[:6]} {{ products(first: 1) {{ totalCount }} }}"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(query)}}
    async with httpx.AsyncClient(timeout=30, headers=ADMIN) as http:
        registered = await http.post(one, json={"query": query, "extensions": extensions})
        assert registered.status_code == 200 and "errors" not in registered.json(), registered.text
        by_hash = await http.post(two, json={"extensions": extensions})
    assert by_hash.json() == registered.json()


async def test_a_rate_limit_is_one_budget_across_both_gateways(cells: Cells) -> None:
    one, two = cells.gateways
    client = {"Authorization": f"Bearer {issue_token(f'limited-{uuid.uuid4().hex[:6]}', (), DEV_JWT_SECRET)}"}
    statuses = []
    async with httpx.AsyncClient(timeout=30, headers=client) as http:
        for gateway in (one, two, one, two, one):
            statuses.append((await http.post(gateway, json={"query": "{ categories { slug } }"})).status_code)
    # Per process, each gateway would have let 3 through (5 in all); shared in Redis, 3 in all.
    assert statuses == [200] * CATEGORIES_PER_CLIENT + [429] * (5 - CATEGORIES_PER_CLIENT)


async def test_a_subscription_on_one_gateway_sees_changes_made_through_the_other(cells: Cells) -> None:
    one, two = cells.gateways
    shopper = Journey(two, say=lambda line: None, timeout=60)
    opened = asyncio.Event()
    watcher = Journey(one, user_id=shopper.user_id, say=lambda line: opened.set(), timeout=60)
    try:
        variant = (await shopper.browse())[0]
        order = await shopper.place_order(CARD_OK, lines=[{"sku": variant["sku"], "quantity": 1}])
        cells.orders[order["id"]] = "FULFILLED"

        async def paid() -> bool:
            return (await shopper.query(ORDER_STATUS, {"id": order["id"]}))["order"]["status"] == "PAID"

        await shopper.eventually(paid, "the order to be paid")
        watching = asyncio.create_task(watcher.watch_until(order["id"], "FULFILLED"))
        await asyncio.wait_for(opened.wait(), 30)  # the first event: the status when it opened (PAID)
        fulfilled = await _post(two, FULFILL, {"id": order["id"]})
        assert fulfilled["fulfillOrder"]["order"]["status"] == "FULFILLED"
        events = await watching
    finally:
        await shopper.aclose()
        await watcher.aclose()
    assert [e["status"] for e in events] == ["PAID", "FULFILLED"]
    assert events[-1]["previousStatus"] == "PAID"
    assert int(events[-1]["eventId"]) > int(events[0]["eventId"])

    # A client that lost gateway 1 reconnects to gateway 2 (an EventSource sends Last-Event-ID) and resumes
    # where it was: event ids are the order's versions, the same through every gateway.
    async def resume_on_two(last_event_id: str) -> list[tuple[str, str]]:
        headers = {**SSE, "Authorization": f"Bearer {shopper.token}", "Last-Event-ID": last_event_id}
        async with httpx.AsyncClient(timeout=30, headers=headers) as http, \
                http.stream("POST", two, json={"query": RESUME, "variables": {"id": order["id"]}}) as response:
            stream = await asyncio.wait_for(read_events(response), 30)
        assert stream[-1] == ("complete", None), stream
        return [(e["data"]["orderStatusChanged"]["status"], e["data"]["orderStatusChanged"]["eventId"])
                for kind, e in stream if kind == "next"]

    history = await resume_on_two("0")  # every change since the order was placed
    assert history[0][0] == "AWAITING_PAYMENT"
    assert history[-2:] == [(e["status"], e["eventId"]) for e in events]  # the ids gateway 1 gave
    assert await resume_on_two(history[0][1]) == history[1:]


SHOPPERS_PER_GATEWAY = 3


async def test_shoppers_on_both_gateways_at_once_keep_stock_and_money_whole(cells: Cells) -> None:
    """Several shoppers through each gateway at once (browse, cart, checkout, payment), each following its
    order live through the *other* gateway; then the system rests and I1-I4 hold over every store."""

    async def shop(index: int) -> None:
        mine, other = cells.gateways[index % 2], cells.gateways[1 - index % 2]
        shopper = Journey(mine, say=lambda line: None, timeout=90)
        watcher = Journey(other, user_id=shopper.user_id, say=lambda line: None, timeout=90)
        try:
            variants = await shopper.browse()
            await shopper.add_to_cart(variants[index % len(variants)]["sku"], 2)
            card, target = (CARD_DECLINED, "CANCELLED") if index % 3 == 2 else (CARD_OK, "PAID")
            order = await shopper.place_order(card)
            cells.orders[order["id"]] = target
            events = await watcher.watch_until(order["id"], target)
            assert events[-1]["status"] == target
        finally:
            await shopper.aclose()
            await watcher.aclose()

    await asyncio.gather(*(shop(i) for i in range(2 * SHOPPERS_PER_GATEWAY)))
    state, settled = await quiesce(cells.mongo_url, cells.redis_url, cells.databases, 90, say=print)
    assert settled, "the system did not rest within 90 s"
    assert {order_id: state.orders[order_id].status for order_id in cells.orders} == cells.orders
    assert len(cells.orders) >= 2 * SHOPPERS_PER_GATEWAY
    violations = check_all(state, cells.initial_stock)
    assert not violations, "\n".join(map(str, violations))
    # Both instances of every consuming service took entries from its one group (and I3 says: once each).
    redis = aioredis.Redis.from_url(cells.redis_url, decode_responses=True)
    try:
        consumers = {group: [c["name"] for c in await redis.xinfo_consumers(EVENTS_STREAM, group)]
                     for group in CONSUMER_GROUPS}
    finally:
        await redis.aclose()
    assert all(len(names) >= 2 for names in consumers.values()), consumers
    assert all(process.poll() is None for _, process in cells.stack.processes)
