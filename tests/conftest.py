"""Suite-wide fixtures: a private real Redis and a MongoDB wire-protocol server for the whole
session (or TEST_REDIS_URL and TEST_MONGODB_URL / MONGODB_URL), and a database per test."""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from subgraphs.kit import embedded_mongo
from subgraphs.kit.embedded_mongo import EmbeddedMongo
from subgraphs.kit.embedded_redis import EmbeddedRedis
from tests.support.mongo import TestMongo
from tests.support.raw_http import RawServers


@pytest.fixture
async def raw_servers() -> AsyncIterator[RawServers]:
    """Raw asyncio HTTP servers whose handlers write the bytes they like (tests.support.raw_http)."""
    servers = RawServers()
    yield servers
    servers.close()


def pytest_report_header() -> str:
    """Which gateway build the run tests: compiled (make compile) or pure Python, and why."""
    import gateway

    return f"gateway hot modules: {gateway.NATIVE_SELECTED}"


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


@pytest.fixture(scope="session")
def mongo_server_url() -> Iterator[str | None]:
    """TEST_MONGODB_URL or MONGODB_URL, else the embedded wire-protocol server (in memory), else None:
    then the tests run on the in-memory fake, which is said once."""
    configured = os.environ.get("TEST_MONGODB_URL") or os.environ.get("MONGODB_URL")
    if configured:
        yield configured
        return
    reason = embedded_mongo.unavailable_reason()
    if reason is not None:
        warnings.warn(f"tests run on the in-memory MongoDB fake: {reason}", stacklevel=1)
        yield None
        return
    server = EmbeddedMongo().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def mongo(mongo_server_url: str | None) -> AsyncIterator[TestMongo]:
    """Databases for this test on the session's server, dropped after it."""
    handed_out = TestMongo(mongo_server_url)
    yield handed_out
    await handed_out.drop()
