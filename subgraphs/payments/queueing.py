"""arq connections for the payments worker that ride out a Redis restart.

The kit's `redis_settings` retries only while *connecting*; once the worker runs, a dropped
connection raises out of arq's poll loop and the worker stops (reported to the lead as a kit bug).
Here every Redis command of the worker retries connection errors with capped exponential backoff
for about `RIDE_OUT_SECONDS`, after which the worker gives up and its supervisor restarts it.
"""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from subgraphs.kit.queue import InProcessWorker, redis_settings

RIDE_OUT_SECONDS = 120
BACKOFF_CAP_SECONDS = 1.0


def resilient_redis_settings(url: str) -> RedisSettings:
    settings = redis_settings(url)
    settings.retry_on_error = [RedisConnectionError, RedisTimeoutError]
    settings.retry = Retry(ExponentialBackoff(cap=BACKOFF_CAP_SECONDS, base=0.05),
                           retries=int(RIDE_OUT_SECONDS / BACKOFF_CAP_SECONDS))
    return settings


class ResilientInProcessWorker(InProcessWorker):
    """The kit's in-process worker, connected with `resilient_redis_settings` (arq reads them when it starts)."""

    def __init__(self, *, redis_url: str, **kwargs: Any) -> None:
        super().__init__(redis_url=redis_url, **kwargs)
        self._worker.redis_settings = resilient_redis_settings(redis_url)
