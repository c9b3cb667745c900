"""What the bus keeps and for how long: published outbox entries, dedupe records, dead letters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from subgraphs.kit.events import Event, EventBus, EventConsumer, OutboxRelay, outbox_entry
from subgraphs.kit.events.consumer import PROCESSED_RETENTION_SECONDS, ConsumerConfig
from subgraphs.kit.events.outbox import PUBLISHED_RETENTION_SECONDS
from subgraphs.kit.events.stats import DEAD_LETTER_RETENTION_SECONDS, dead_letter_minid
from subgraphs.kit.events.types import OrderCreated
from subgraphs.kit.redis_client import connect_redis
from tests.support.mongo import TestMongo


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


def created(order_id: str, at: datetime) -> Event:
    event = OrderCreated(order_id=order_id, order_number="1", user_id="u1", total_amount=100, currency="EUR",
                         lines=[]).envelope(source="orders", subject=f"order:{order_id}")
    return replace(event, occurred_at=at.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def entry(order_id: str, at: datetime, *, published: bool) -> dict[str, Any]:
    return {**outbox_entry(created(order_id, at)), "published": published}


async def test_only_fully_published_outboxes_past_the_retention_are_pruned(
    redis: aioredis.Redis, mongo: TestMongo
) -> None:
    orders = mongo.database("orders")["orders"]
    now = datetime.now(UTC)
    old = now - timedelta(seconds=PUBLISHED_RETENTION_SECONDS + 3600)
    recent = now - timedelta(seconds=60)
    poison = {"event": {"bad": True}, "published": False, "dead_letter": {"error": "x"}}
    await orders.insert_many([
        {"_id": "all-old", "outbox": [entry("a", old, published=True), entry("a2", old, published=True)]},
        {"_id": "one-recent", "outbox": [entry("b", old, published=True), entry("b2", recent, published=True)]},
        {"_id": "unpublished", "outbox": [entry("c", old, published=True), entry("c2", old, published=False)]},
        {"_id": "poison", "outbox": [entry("d", old, published=True), poison]},
        {"_id": "empty", "outbox": []},
    ])
    relay = OutboxRelay([orders], EventBus(redis))
    assert await relay.prune_published(now) == 1
    outboxes = {doc["_id"]: len(doc["outbox"]) async for doc in orders.find({})}
    assert outboxes == {"all-old": 0, "one-recent": 2, "unpublished": 2, "poison": 2, "empty": 0}
    assert await relay.prune_published(now) == 0  # idempotent
    # The unpublished entry left after pruning is still published by the next round.
    assert await relay.relay_once() == 1


async def test_dedupe_records_expire_by_a_ttl_index(redis: aioredis.Redis, mongo: TestMongo) -> None:
    database = mongo.database("payments")
    worker = EventConsumer(redis, database, {}, ConsumerConfig(group="retention-test"))
    await worker.start()
    try:
        indexes = await database["processed_events"].index_information()
        assert indexes["processed_ttl"]["expireAfterSeconds"] == PROCESSED_RETENTION_SECONDS
        assert PROCESSED_RETENTION_SECONDS > PUBLISHED_RETENTION_SECONDS
    finally:
        await worker.stop()


async def test_a_new_dead_letter_trims_those_older_than_the_retention(redis: aioredis.Redis, mongo: TestMongo) -> None:
    worker = EventConsumer(redis, mongo.database("orders"), {}, ConsumerConfig(group="dl-test"))
    await worker.ensure_group()
    stale_ms = int((datetime.now(UTC).timestamp() - DEAD_LETTER_RETENTION_SECONDS - 86400) * 1000)
    await redis.xadd(worker.config.dead_letter_stream, {"event": "{}", "error": "old"}, id=f"{stale_ms}-0")
    kept_ms = int((datetime.now(UTC).timestamp() - DEAD_LETTER_RETENTION_SECONDS + 86400) * 1000)
    await redis.xadd(worker.config.dead_letter_stream, {"event": "{}", "error": "recent"}, id=f"{kept_ms}-0")
    await redis.xadd("events", {"event": "{not json"})
    await worker.poll_once(block_ms=10)
    errors = [fields["error"] for _, fields in await worker.dead_letters()]
    assert "old" not in errors and "recent" in errors
    assert any("malformed event" in error for error in errors)
    assert dead_letter_minid(1_000_000.0) == f"{(1_000_000 - DEAD_LETTER_RETENTION_SECONDS) * 1000}-0"


async def test_after_redis_lost_its_data_the_retained_entries_are_published_again(
    redis: aioredis.Redis, mongo: TestMongo
) -> None:
    handled: list[str] = []

    async def handle(event: Event) -> None:
        handled.append(event.data["order_id"])

    orders = mongo.database("orders")["orders"]
    relay = OutboxRelay([orders], EventBus(redis))
    worker = EventConsumer(redis, mongo.database("payments"), {"order.created": handle},
                           ConsumerConfig(group="wipe-test", batch_size=1))
    now = datetime.now(UTC)
    await orders.insert_many([{"_id": "handled", "outbox": [entry("handled", now, published=False)]},
                              {"_id": "in-flight", "outbox": [entry("in-flight", now, published=False)]}])
    await worker.ensure_group()
    assert await relay.relay_once() == 2
    assert await worker.poll_once(block_ms=10) == 1  # one handled, the other still in the stream
    assert handled == ["handled"]

    await redis.flushall()  # Redis comes back empty: the stream, the group, the publish markers are gone
    await worker.ensure_group()
    assert await relay.relay_once() == 0  # nothing new; the retained entries go out again
    for _ in range(3):
        await worker.poll_once(block_ms=10)
    assert handled == ["handled", "in-flight"]  # the lost one handled, the handled one not again
    # Only the relay that found the epoch missing republishes; a later round or another relay does not.
    assert await OutboxRelay([orders], EventBus(redis))._redis_lost_its_data() is False
