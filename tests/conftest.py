"""Suite-wide fixtures: a private real Redis for the whole session (or TEST_REDIS_URL)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from subgraphs.kit.embedded_redis import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A Redis no one else uses, so tests may flush it: TEST_REDIS_URL, else a private redis-server."""
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = EmbeddedRedis().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def redis_url(redis_server_url: str) -> AsyncIterator[str]:
    """The session's Redis, flushed before each test."""
    client = aioredis.Redis.from_url(redis_server_url)
    await client.flushdb()
    await client.aclose()
    yield redis_server_url
