"""Fixtures: a started products service (in-memory MongoDB, the suite's real Redis), demo-seeded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from subgraphs.products.config import ProductsConfig
from tests.products.support import Harness, start_harness
from tests.support.mongo import TestMongo


@pytest.fixture
async def harness(redis_url: str, mongo: TestMongo) -> AsyncIterator[Harness]:
    """The demo catalog, with the Redis cache on."""
    h = await start_harness(redis_url, mongo, ProductsConfig(cache_enabled=True, seed_demo=True))
    try:
        yield h
    finally:
        await h.stop()


@pytest.fixture
async def empty(redis_url: str, mongo: TestMongo) -> AsyncIterator[Harness]:
    """No products at all, cache on."""
    h = await start_harness(redis_url, mongo, ProductsConfig(cache_enabled=True, seed_demo=False))
    try:
        yield h
    finally:
        await h.stop()
