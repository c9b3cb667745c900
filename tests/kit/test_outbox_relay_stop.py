"""The outbox relay stops even when a `notify()` and the stop land together (Python 3.11's
`asyncio.wait_for` swallows a cancellation that arrives as the awaited event fires)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from subgraphs.kit.events import EventBus, OutboxRelay
from subgraphs.kit.liveness import LoopState
from subgraphs.kit.redis_client import connect_redis
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


async def test_stop_right_after_a_notify_ends_the_relay(redis: aioredis.Redis, mongo: TestMongo) -> None:
    relay = OutboxRelay([mongo.database("kittest")["orders"]], EventBus(redis), interval_seconds=60)
    await relay.start()
    task = relay._task
    assert task is not None

    async def waiting_for_a_wake_up() -> bool:  # its first round is done; it waits on the wake event
        return bool(relay._wake._waiters)  # type: ignore[attr-defined]

    await wait_for(waiting_for_a_wake_up, timeout=30, message="the relay to wait for a wake-up")
    relay.notify()
    await asyncio.sleep(0)  # the wake-up's inner wait completes; the relay's own task has not resumed yet
    stopping = asyncio.create_task(relay.stop())

    async def ended() -> bool:  # the old relay lost the cancellation: its loop ran on, stop() waited forever
        return task.done() and stopping.done()

    await wait_for(ended, timeout=10, message="the relay to stop")
    assert relay.health.state is LoopState.STOPPED
