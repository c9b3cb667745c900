"""The Redis catalog cache on a real Redis: hits, invalidation, single-flight, batching, Redis failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
import redis.asyncio as aioredis

from subgraphs.kit.embedded_redis import EmbeddedRedis
from subgraphs.products.config import ProductsConfig
from subgraphs.products.demo import demo_documents
from tests.products.support import Harness, count_queries, start_harness
from tests.support.mongo import TestMongo
from tests.support.tokens import bearer

ADMIN = bearer("admin-1", "catalog:write")
PRODUCT = "query($id: ID!) { product(id: $id) { id name variants { sku stock { available } } } }"
LIST = """query($after: String) { products(first: 5, after: $after, sortBy: NAME, filter: {category: "books"}) {
  totalCount edges { node { id name } } pageInfo { endCursor } } }"""
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name } } }"


@pytest.fixture
async def uncached(redis_url: str, mongo: TestMongo) -> AsyncIterator[Harness]:
    h = await start_harness(redis_url, mongo, ProductsConfig(cache_enabled=False, seed_demo=True))
    try:
        yield h
    finally:
        await h.stop()


def reps(ids: list[str]) -> dict:
    return {"r": [{"__typename": "Product", "id": i} for i in ids]}


async def test_second_read_is_served_from_redis(harness: Harness, redis_url: str) -> None:
    counter = count_queries(harness.service)
    product_id = demo_documents()[0]["_id"]
    first = await harness.data(PRODUCT, {"id": product_id})
    assert counter.queries == 1
    assert await harness.data(PRODUCT, {"id": product_id}) == first
    assert counter.queries == 1  # from Redis

    listing = await harness.data(LIST)
    assert counter.queries == 3  # the page and the count
    assert await harness.data(LIST) == listing
    assert counter.queries == 3

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    keys = [k async for k in client.scan_iter("products:cache:v1:*")]
    ttls = [await client.ttl(k) for k in keys if ":ver:" not in k]
    await client.aclose()
    assert ttls and all(0 < t <= 300 for t in ttls)  # the TTL backstop


async def test_cache_off_reads_mongo_every_time(uncached: Harness) -> None:
    counter = count_queries(uncached.service)
    product_id = demo_documents()[0]["_id"]
    await uncached.data(PRODUCT, {"id": product_id})
    await uncached.data(PRODUCT, {"id": product_id})
    assert counter.queries == 2


async def test_a_write_invalidates_before_it_returns(harness: Harness) -> None:
    counter = count_queries(harness.service)
    doc = next(d for d in demo_documents() if d["category"] == "Books")
    await harness.data(PRODUCT, {"id": doc["_id"]})
    before = await harness.data(LIST)
    await harness.data(PRODUCT, {"id": doc["_id"]})
    cached_reads = counter.queries

    await harness.data("""mutation($id: ID!) { updateProduct(id: $id, input: {name: "Aaa Renamed Book"}) {
        __typename } }""", {"id": doc["_id"]}, ADMIN)
    after = await harness.data(PRODUCT, {"id": doc["_id"]})
    assert after["product"]["name"] == "Aaa Renamed Book"
    listing = await harness.data(LIST)
    assert listing["products"]["edges"][0]["node"] == {"id": doc["_id"], "name": "Aaa Renamed Book"}
    assert counter.queries > cached_reads

    # Stock changes (admin or reservations) invalidate too.
    sku = doc["variants"][0]["sku"]
    await harness.data("mutation($s: String!) { setStock(sku: $s, onHand: 77) { __typename } }", {"s": sku}, ADMIN)
    stock = (await harness.data(PRODUCT, {"id": doc["_id"]}))["product"]["variants"][0]["stock"]
    assert stock == {"available": 77}
    await harness.service.inventory.reserve("order-c", [(sku, 7)])
    stock = (await harness.data(PRODUCT, {"id": doc["_id"]}))["product"]["variants"][0]["stock"]
    assert stock == {"available": 70}
    await harness.service.inventory.release("order-c")
    stock = (await harness.data(PRODUCT, {"id": doc["_id"]}))["product"]["variants"][0]["stock"]
    assert stock == {"available": 77}

    await harness.data("mutation($id: ID!) { archiveProduct(id: $id) { __typename } }", {"id": doc["_id"]}, ADMIN)
    total = (await harness.data(LIST))["products"]["totalCount"]
    assert total == before["products"]["totalCount"] - 1
    created = await harness.data("""mutation { createProduct(input: {name: "New Book", category: "Books",
        variants: [{sku: "NB-1", price: {amount: 999, currency: "USD"}}]}) { __typename } }""", headers=ADMIN)
    assert created["createProduct"]["__typename"] == "ProductSuccess"
    assert (await harness.data(LIST))["products"]["totalCount"] == total + 1


async def test_concurrent_misses_make_one_load(harness: Harness) -> None:
    counter = count_queries(harness.service)
    product_id = demo_documents()[5]["_id"]
    results = await asyncio.gather(*(harness.data(PRODUCT, {"id": product_id}) for _ in range(25)))
    assert all(r == results[0] for r in results)
    assert counter.calls["find"] == 1
    pages = await asyncio.gather(*(harness.data(LIST) for _ in range(25)))
    assert all(p == pages[0] for p in pages)
    assert counter.calls["find"] == 2 and counter.calls["count_documents"] == 1


async def test_entities_are_loaded_in_one_query(uncached: Harness) -> None:
    counter = count_queries(uncached.service)
    ids = [d["_id"] for d in demo_documents()[:12]]
    data = await uncached.data(ENTITIES, reps([*ids, ids[0], "0" * 24]))
    assert [e["id"] if e else None for e in data["_entities"]] == [*ids, ids[0], None]
    assert counter.calls["find"] == 1
    assert counter.queries == 1


async def test_entities_with_a_warm_cache(harness: Harness) -> None:
    counter = count_queries(harness.service)
    ids = [d["_id"] for d in demo_documents()[:10]]
    await harness.data(PRODUCT, {"id": ids[0]})
    await harness.data(ENTITIES, reps(ids))
    assert counter.queries == 2  # the one cached product is not loaded again; the nine others in one query
    await harness.data(ENTITIES, reps(ids))
    assert counter.queries == 2


async def test_malformed_entity_ids_are_errors_not_crashes(harness: Harness) -> None:
    result = await harness.execute(ENTITIES, reps(["bad-id", demo_documents()[0]["_id"]]))
    assert result.data is not None and result.data["_entities"][1]["id"] == demo_documents()[0]["_id"]
    assert result.errors and result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_reads_survive_redis_going_away(mongo: TestMongo) -> None:
    redis_server = EmbeddedRedis().start()
    harness = await start_harness(redis_server.url, mongo, ProductsConfig(cache_enabled=True, seed_demo=True))
    try:
        counter = count_queries(harness.service)
        doc = demo_documents()[0]
        first = await harness.data(PRODUCT, {"id": doc["_id"]})
        await harness.data(PRODUCT, {"id": doc["_id"]})
        listing = await harness.data(LIST)
        assert counter.calls["find"] == 2

        redis_server.stop()
        assert await harness.data(PRODUCT, {"id": doc["_id"]}) == first
        assert await harness.data(LIST) == listing
        assert counter.calls["find"] == 4  # served by MongoDB
        renamed = await harness.data("""mutation($id: ID!) { updateProduct(id: $id, input: {name: "Still Works"}) {
            ... on ProductSuccess { product { name } } } }""", {"id": doc["_id"]}, ADMIN)
        assert renamed["updateProduct"]["product"]["name"] == "Still Works"
        assert (await harness.data(PRODUCT, {"id": doc["_id"]}))["product"]["name"] == "Still Works"
        entities = await harness.data(ENTITIES, reps([doc["_id"]]))
        assert entities["_entities"][0]["name"] == "Still Works"
    finally:
        await harness.stop()
        redis_server.stop()


async def test_a_load_that_raced_a_write_is_never_served(redis_url: str) -> None:
    """Reader misses and loads the old value; a write lands meanwhile; the late entry must not be served."""
    from subgraphs.products.cache import CatalogCache

    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    cache = CatalogCache(client, ttl_seconds=60)
    database = {"p": "old"}
    loading = asyncio.Event()
    release = asyncio.Event()
    loads = 0

    async def slow_load(ids: list[str]) -> dict:
        nonlocal loads
        loads += 1
        value = database["p"]
        loading.set()
        await release.wait()
        return {"p": value}

    async def fast_load(ids: list[str]) -> dict:
        nonlocal loads
        loads += 1
        return {"p": database["p"]}

    reader = asyncio.create_task(cache.get_many_or_load(["p"], slow_load))
    await loading.wait()
    database["p"] = "new"  # the write: MongoDB first, then invalidation, then it answers
    await cache.invalidate(["p"])
    release.set()
    assert await reader == {"p": "old"}  # began before the write: may see the old value
    assert await cache.get_many_or_load(["p"], fast_load) == {"p": "new"}
    assert await cache.get_many_or_load(["p"], fast_load) == {"p": "new"}
    assert loads == 2  # the second read after the write came from Redis
    await client.aclose()


async def test_a_failed_invalidation_reaches_every_instance(redis_url: str, mongo: TestMongo) -> None:
    """Instance A's invalidation is refused (its Redis is unreachable); instance B, whose Redis answers, holds
    an entry from before the write. B's next repair round applies A's recorded invalidation: B stops serving
    the old value, and A trusts the cache again once it is applied."""
    from subgraphs.kit.embedded_redis import free_port
    from subgraphs.products.cache import CatalogCache, product_entry_key
    from subgraphs.products.cache_repair import COLLECTION, PendingInvalidations

    pending = PendingInvalidations(mongo.database("products")[COLLECTION])
    healthy = aioredis.Redis.from_url(redis_url, decode_responses=True)
    unreachable = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    writer, reader = CatalogCache(unreachable, 60, pending), CatalogCache(healthy, 60, pending)
    database = {"p": "old"}

    async def load(ids: list[str]) -> dict:
        return {"p": database["p"]}

    assert await reader.get_many_or_load(["p"], load) == {"p": "old"}
    database["p"] = "new"
    await writer.invalidate(["p"])  # refused: recorded instead
    assert len(await pending.pending()) == 1
    assert await healthy.get(product_entry_key("p")) is not None
    assert await reader.get_many_or_load(["p"], load) == {"p": "old"}  # stale until a repair round
    assert await reader.repair() == 1
    assert await pending.pending() == []
    assert await reader.get_many_or_load(["p"], load) == {"p": "new"}

    assert not writer._usable()  # it does not trust entries cached before its failed write ...
    writer.redis = healthy  # ... until its Redis answers and the repair is applied (by anyone)
    assert await writer.repair() == 0
    assert writer._untrusted_until == 0.0
    writer._skip_until = 0.0  # (the 1 s breaker after any Redis failure, which is not what this is about)
    assert await writer.get_many_or_load(["p"], load) == {"p": "new"}
    await healthy.aclose()
    await unreachable.aclose()


async def test_an_unrecorded_failed_invalidation_keeps_the_writer_off_the_cache(redis_url: str) -> None:
    from subgraphs.kit.embedded_redis import free_port
    from subgraphs.products.cache import CatalogCache

    unreachable = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    writer = CatalogCache(unreachable, 60)  # nowhere to record: only the TTL bounds it
    await writer.invalidate(["p"])
    writer.redis = aioredis.Redis.from_url(redis_url)
    assert await writer.repair() == 0
    assert writer._untrusted_until > 0
    await writer.redis.aclose()
    await unreachable.aclose()


async def test_a_recorded_failure_after_an_unrecorded_one_keeps_the_first_ones_bound(
        redis_url: str, mongo: TestMongo) -> None:
    from subgraphs.kit.embedded_redis import free_port
    from subgraphs.products.cache import CatalogCache
    from subgraphs.products.cache_repair import COLLECTION, PendingInvalidations

    class RefusingOnce(PendingInvalidations):
        refused = False

        async def record(self, product_ids: Sequence[str]) -> None:
            if not self.refused:
                self.refused = True
                raise ConnectionError("MongoDB is away too")
            await super().record(product_ids)

    unreachable = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    writer = CatalogCache(unreachable, 60, RefusingOnce(mongo.database("products")[COLLECTION]))
    await writer.invalidate(["p"])  # neither applied nor recorded: its old entries live up to a TTL
    await writer.invalidate(["q"])  # recorded
    writer.redis = aioredis.Redis.from_url(redis_url)
    assert await writer.repair() == 1
    assert writer._untrusted_until == writer._unrecorded_until > 0  # still off the cache for p's sake
    await writer.redis.aclose()
    await unreachable.aclose()


def test_the_repair_interval_is_read_and_checked() -> None:
    assert ProductsConfig.from_env({}).cache_repair_seconds == 1.0
    assert ProductsConfig.from_env({"PRODUCTS_CACHE_REPAIR_SECONDS": "0.25"}).cache_repair_seconds == 0.25
    for bad in ("0", "soon", "-1", "7200"):
        with pytest.raises(ValueError, match="PRODUCTS_CACHE_REPAIR_SECONDS"):
            ProductsConfig.from_env({"PRODUCTS_CACHE_REPAIR_SECONDS": bad})
