"""The event bus on a real Redis: idempotent publish, consumer groups, reclaim, leases, dead letters, outbox,
retention and stats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from subgraphs.kit.events import Event, EventBus, EventConsumer, OutboxRelay, outbox_entry
from subgraphs.kit.events import bus as bus_module
from subgraphs.kit.events.consumer import ConsumerConfig
from subgraphs.kit.events.retention import RetentionPolicy, StreamRetention
from subgraphs.kit.events.stats import stream_stats
from subgraphs.kit.events.types import OrderCreated, PaymentFailed
from subgraphs.kit.redis_client import connect_redis
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for


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


# -- retention: trimming never drops what a group has not acknowledged (case 5) -----------------

async def ignore(event: Event) -> None:
    return None


async def publish_many(bus: EventBus, count: int) -> list[Event]:
    events = [order_created(f"o{n}") for n in range(count)]
    for event in events:
        await bus.publish(event)
    return events


async def drain(worker: EventConsumer) -> None:
    while await worker.poll_once(block_ms=1):
        pass


async def test_a_lagging_group_loses_no_event_and_acknowledged_entries_are_trimmed(
    redis: aioredis.Redis, database: Any, mongo: TestMongo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The old bus trimmed every XADD to a fixed length (about 100k) whatever the groups had read; a
    # small length here shows the same loss on it. The new bus has no such constant.
    monkeypatch.setattr(bus_module, "STREAM_MAXLEN", 50, raising=False)
    fast_seen: list[str] = []
    slow_seen: list[str] = []

    async def fast_handle(event: Event) -> None:
        fast_seen.append(event.id)

    async def slow_handle(event: Event) -> None:
        slow_seen.append(event.id)

    bus = EventBus(redis)
    fast = EventConsumer(redis, database, {"order.created": fast_handle}, ConsumerConfig(group="fast"))
    slow = EventConsumer(redis, mongo.database("slow"), {"order.created": slow_handle},
                         ConsumerConfig(group="slow"))
    await fast.ensure_group()
    await slow.ensure_group()
    events = await publish_many(bus, 300)
    await drain(fast)
    retention = StreamRetention(redis, policy=RetentionPolicy(max_length=1000, keep_recent=0, lag_alert=100))

    report = await retention.run_once()
    assert report.trimmed == 0 and report.lagging == ["slow"]  # nothing is acknowledged by "slow" yet
    stats = await stream_stats(redis)
    assert stats.groups["slow"].lag == 300 and not stats.groups["slow"].settled
    assert stats.groups["fast"].settled and stats.unsettled() == ["slow"]

    await drain(slow)
    assert slow_seen == fast_seen == [event.id for event in events]
    report = await retention.run_once()
    assert report.trimmed == 300 and await redis.xlen("events") == 0
    assert (await stream_stats(redis)).settled(["fast", "slow"])


async def test_trimming_keeps_pending_entries_and_the_newest_ones(redis: aioredis.Redis, database: Any) -> None:
    bus = EventBus(redis)
    worker = consumer(redis, database, ignore)
    await worker.ensure_group()
    await publish_many(bus, 20)
    # Entries 0-9 delivered and acknowledged; 10 delivered but not acknowledged; the rest not delivered.
    await drain_count(worker, 10)
    [(_, [(pending_id, _)])] = await redis.xreadgroup("test", "other", {"events": ">"}, count=1)
    retention = StreamRetention(redis, policy=RetentionPolicy(max_length=1000, keep_recent=0))
    report = await retention.run_once()
    assert report.trimmed == 10 and report.floor == pending_id
    assert (await redis.xrange("events", count=1))[0][0] == pending_id

    await drain(worker)  # reclaims nothing (not idle long enough), reads the other 9
    await redis.xack("events", "test", pending_id)
    keep = StreamRetention(redis, policy=RetentionPolicy(max_length=1000, keep_recent=4))
    assert (await keep.run_once()).trimmed == 6
    assert await redis.xlen("events") == 4


async def drain_count(worker: EventConsumer, count: int) -> None:
    entries = await worker.redis.xreadgroup("test", worker.consumer_name, {"events": ">"}, count=count)
    for _, batch in entries:
        for entry_id, fields in batch:
            await worker._handle_entry(entry_id, fields)


async def test_above_the_hard_cap_a_lagging_groups_entries_are_dead_lettered_before_trimming(
    redis: aioredis.Redis, database: Any, mongo: TestMongo
) -> None:
    bus = EventBus(redis)
    fast = EventConsumer(redis, database, {"order.created": ignore}, ConsumerConfig(group="fast"))
    gone = EventConsumer(redis, mongo.database("gone"), {}, ConsumerConfig(group="gone"))
    await fast.ensure_group()
    await gone.ensure_group()
    events = await publish_many(bus, 150)
    await drain(fast)
    retention = StreamRetention(redis, policy=RetentionPolicy(max_length=100, keep_recent=50))

    report = await retention.run_once()
    assert report.dead_lettered == {"gone": 50} and report.trimmed == 50
    assert await redis.xlen("events") == 100
    letters = await redis.xrange("events:dead:gone")
    assert [Event.from_json(fields["event"]).id for _, fields in letters] == [e.id for e in events[:50]]
    assert all("exceeded 100 entries while group gone was 150 behind" in fields["error"] for _, fields in letters)
    assert await redis.xlen("events:dead:fast") == 0

    # Every published event is handled by each group or in its dead-letter stream.
    delivered: list[str] = []
    while response := await redis.xreadgroup("gone", "late", {"events": ">"}, count=500):
        delivered += [Event.from_json(fields["event"]).id for _, entries in response for _, fields in entries]
    dead = [Event.from_json(fields["event"]).id for _, fields in letters]
    assert dead + delivered == [event.id for event in events]


# -- the outbox relay goes on past a poison entry (case 6) --------------------------------------

async def test_a_poison_outbox_entry_is_dead_lettered_and_the_relay_goes_on(
    redis: aioredis.Redis, database: Any
) -> None:
    orders = database["orders"]
    bus = EventBus(redis)
    first, second, third = order_created("a1"), order_created("a2"), order_created("b1")
    poison = {"event": {"id": "bad", "type": "order.created", "source": "orders", "subject": "order:a0",
                        "data": "not an object"}, "published": False}
    await orders.insert_one({"_id": "A", "outbox": [poison, outbox_entry(first), outbox_entry(second)]})
    await orders.insert_one({"_id": "B", "outbox": [outbox_entry(third)]})
    relay = OutboxRelay([orders], bus)

    assert await relay.relay_once() == 3
    entries = await redis.xrange("events")
    assert [Event.from_json(fields["event"]).id for _, fields in entries] == [first.id, second.id, third.id]
    [(_, letter)] = await redis.xrange("events:dead:outbox")
    assert (letter["collection"], letter["document_id"], letter["index"]) == ("orders", "A", "0")
    assert "event data must be an object" in letter["error"]
    assert orjson.loads(letter["entry"])["event"]["id"] == "bad"
    stored = await orders.find_one({"_id": "A"})
    assert stored["outbox"][0]["published"] is False
    assert "event data must be an object" in stored["outbox"][0]["dead_letter"]["error"]
    assert [entry["published"] for entry in stored["outbox"][1:]] == [True, True]

    # It is not tried again, and it shows in the stats.
    assert await relay.relay_once() == 0
    assert await redis.xlen("events:dead:outbox") == 1
    assert (await stream_stats(redis)).outbox_dead_letters == 1


async def test_an_entry_deleted_before_it_was_handled_is_dead_lettered(redis: aioredis.Redis, database: Any) -> None:
    worker = consumer(redis, database, ignore, claim_idle_ms=0)
    await worker.ensure_group()
    entry_id = await EventBus(redis).publish(order_created())
    await redis.xreadgroup("test", "dead", {"events": ">"}, count=1)
    await redis.xdel("events", entry_id)
    await worker.poll_once(block_ms=1)
    [(_, letter)] = await worker.dead_letters()
    assert letter["original_id"] == entry_id and "deleted" in letter["error"]
    assert (await stream_stats(redis)).groups["test"].settled


# -- a slow handler never runs twice at once (11c) ----------------------------------------------

async def test_a_handler_slower_than_the_claim_idle_time_is_not_run_twice_at_once(
    redis: aioredis.Redis, database: Any
) -> None:
    running = peak = calls = 0
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(event: Event) -> None:
        nonlocal running, peak, calls
        running += 1
        calls += 1
        peak = max(peak, running)
        try:
            if running == 1:
                started.set()
                await release.wait()
        finally:
            running -= 1

    bus = EventBus(redis)
    event = order_created()
    first = consumer(redis, database, slow, consumer_name="first", claim_idle_ms=200)
    # This one reclaims whatever is pending at all: the first one's entry looks idle to it at once.
    second = consumer(redis, database, slow, consumer_name="second", claim_idle_ms=0)
    await first.ensure_group()
    await bus.publish(event)
    handling = asyncio.create_task(first.poll_once(block_ms=1))
    await asyncio.wait_for(started.wait(), timeout=10)
    for _ in range(3):
        assert await second.poll_once(block_ms=1) == 0
    # The first consumer's heartbeat takes the entry back and keeps it from looking idle.
    beats = first.heartbeats
    await wait_for(lambda: _owner_after(redis, first, beats), message="the first consumer to renew its claim")

    release.set()
    assert await handling == 1
    assert (peak, calls) == (1, 1)
    assert (await redis.xpending("events", "test"))["pending"] == 0
    assert await redis.exists(f"events:lease:test:{event.id}") == 0


async def _owner_after(redis: aioredis.Redis, worker: EventConsumer, beats: int) -> bool:
    if worker.heartbeats <= beats:
        return False
    [row] = await redis.xpending_range("events", "test", min="-", max="+", count=1)
    return bool(row["consumer"] == worker.consumer_name)
