"""The service's Redis connection (asyncio), decoding responses as UTF-8 strings."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from subgraphs.kit.metrics import observe_redis


class TimedRedis(aioredis.Redis):
    """Every command timed into `service_redis_command_duration_seconds` (pipelines count as one)."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        started = time.perf_counter()
        ok = False
        try:
            result = await super().execute_command(*args, **options)
            ok = True
            return result
        finally:
            observe_redis(args, started, ok)


def connect_redis(url: str) -> aioredis.Redis:
    return TimedRedis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
    )


async def ping(client: aioredis.Redis) -> bool:
    try:
        return bool(await client.ping())
    except Exception:  # a readiness probe reports, it does not raise
        return False
