"""The event bus on a real Redis: idempotent publish, consumer groups, reclaim, dead letters, outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from subgraphs.kit.events import Event, EventBus, EventConsumer, OutboxRelay, outbox_entry
from subgraphs.kit.events.consumer import ConsumerConfig
from subgraphs.kit.events.types import OrderCreated, PaymentFailed
from subgraphs.kit.redis_client import connect_redis
from tests.support.mongo import TestMongo


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def database(mongo: TestMongo) -> Any:
    return mongo.database("events")


def order_created(order_id: str = "o1") -> Event:
    return OrderCreated(
        order_id=order_id, order_number="1001", user_id="u1", total_amount=2500, currency="EUR", lines=[]
    ).envelope(source="orders", subject=f"order:{order_id}")


def consumer(redis: aioredis.Redis, database: Any, handler: Any, **config: Any) -> EventConsumer:
    return EventConsumer(redis, database, {"order.created": handler}, ConsumerConfig(group="test", **config))


async def test_typed_event_round_trips_through_the_envelope() -> None:
    event = order_created()
    parsed = OrderCreated.from_event(Event.from_json(event.to_json()))
    assert parsed.order_id == "o1" and parsed.total_amount == 2500
    with pytest.raises(ValueError, match=r"expected a payment\.failed event"):
        PaymentFailed.from_event(event)


async def test_publishing_the_same_event_twice_appends_it_once(redis: aioredis.Redis) -> None:
    bus = EventBus(redis)
    event = order_created()
    assert await bus.publish(event) is not None
    assert await bus.publish(event) is None
    assert await redis.xlen(bus.stream) == 1


async def test_consumer_handles_acks_and_skips_unknown_types(redis: aioredis.Redis, database: Any) -> None:
    seen: list[str] = []

    async def handle(event: Event) -> None:
        seen.append(event.id)

    bus = EventBus(redis)
    worker = consumer(redis, database, handle)
    await worker.ensure_group()
    event = order_created()
    await bus.publish(event)
    await bus.publish(Event(type="something.else", source="x", subject="y", data={}))
    assert await worker.poll_once(block_ms=10) == 1
    assert seen == [event.id]
    pending = await redis.xpending(bus.stream, "test")
    assert pending["pending"] == 0


async def test_a_redelivered_event_is_not_handled_twice(redis: aioredis.Redis, database: Any) -> None:
    calls: list[str] = []

    async def handle(event: Event) -> None:
        calls.append(event.id)

    bus = EventBus(redis)
    worker = consumer(redis, database, handle)
    await worker.ensure_group()
    event = order_created()
    await bus.publish(event)
    # The same event published again under a new stream entry (e.g. replayed by an operator).
    await redis.xadd(bus.stream, {"type": event.type, "event": event.to_json()})
    await worker.poll_once(block_ms=10)
    assert calls == [event.id]


async def test_a_stuck_entry_is_reclaimed_by_another_consumer(redis: aioredis.Redis, database: Any) -> None:
    handled: list[str] = []

    async def handle(event: Event) -> None:
        handled.append(event.id)

    bus = EventBus(redis)
    dead = consumer(redis, database, handle, consumer_name="dead", claim_idle_ms=0)
    await dead.ensure_group()
    event = order_created()
    await bus.publish(event)
    # "dead" reads the entry and dies before handling it: the entry stays pending under its name.
    await redis.xreadgroup("test", "dead", {bus.stream: ">"}, count=1)
    assert (await redis.xpending(bus.stream, "test"))["pending"] == 1
    survivor = consumer(redis, database, handle, consumer_name="survivor", claim_idle_ms=0)
    assert await survivor.poll_once(block_ms=10) == 1
    assert handled == [event.id]
    assert (await redis.xpending(bus.stream, "test"))["pending"] == 0


async def test_poison_event_is_dead_lettered_and_can_be_replayed(redis: aioredis.Redis, database: Any) -> None:
    broken = True
    handled: list[str] = []

    async def handle(event: Event) -> None:
        if broken:
            raise RuntimeError("downstream is broken")
        handled.append(event.id)

    bus = EventBus(redis)
    worker = consumer(redis, database, handle, claim_idle_ms=0, max_deliveries=3)
    await worker.ensure_group()
    event = order_created()
    await bus.publish(event)
    for _ in range(3):
        await worker.poll_once(block_ms=10)
    letters = await worker.dead_letters()
    assert len(letters) == 1
    assert "downstream is broken" in letters[0][1]["error"]
    assert letters[0][1]["deliveries"] == "3"
    assert (await redis.xpending(bus.stream, "test"))["pending"] == 0
    assert handled == []

    broken = False
    assert await worker.replay_dead_letters() == (1, 0)
    assert handled == [event.id]
    assert await worker.dead_letters() == []


async def test_malformed_entries_go_to_dead_letters(redis: aioredis.Redis, database: Any) -> None:
    worker = consumer(redis, database, lambda e: None)
    await worker.ensure_group()
    await redis.xadd("events", {"event": "{not json"})
    await worker.poll_once(block_ms=10)
    letters = await worker.dead_letters()
    assert len(letters) == 1 and "malformed event" in letters[0][1]["error"]


async def test_outbox_crash_between_write_and_publish_loses_and_duplicates_nothing(
    redis: aioredis.Redis, database: Any
) -> None:
    orders = database["orders"]
    bus = EventBus(redis)
    event = order_created("o7")
    # The business write and its event in one single-document write; the process "dies" before relaying.
    await orders.insert_one({"_id": "o7", "status": "AWAITING_PAYMENT", "outbox": [outbox_entry(event)]})

    # A crash after publishing but before marking published: simulate by publishing directly.
    await bus.publish(event)

    relay = OutboxRelay([orders], bus)
    await relay.relay_once()
    await relay.relay_once()
    entries = await redis.xrange(bus.stream)
    assert [Event.from_json(fields["event"]).id for _, fields in entries] == [event.id]
    stored = await orders.find_one({"_id": "o7"})
    assert stored["outbox"][0]["published"] is True

    received: list[str] = []

    async def handle(e: Event) -> None:
        received.append(e.id)

    worker = consumer(redis, database, handle)
    await worker.ensure_group()
    await worker.poll_once(block_ms=10)
    assert received == [event.id]
