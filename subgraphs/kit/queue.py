"""arq job queues: Redis settings that survive a Redis restart, and an in-process worker.

With an in-memory database (no MONGODB_URL) the worker must share the service's process, because
the data lives there; with a real MongoDB it runs as its own process
(`arq subgraphs.<name>.worker.WorkerSettings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)


# How long a worker rides out a Redis that went away before it gives up (and its supervisor restarts it).
RIDE_OUT_SECONDS = 120
BACKOFF_CAP_SECONDS = 1.0


def redis_settings(url: str) -> RedisSettings:
    """arq connection settings that keep retrying while Redis restarts instead of giving up: both
    while connecting and, once running, on every command (arq's poll loop would die otherwise)."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_retries = int(RIDE_OUT_SECONDS / BACKOFF_CAP_SECONDS)
    settings.conn_retry_delay = 1
    settings.retry_on_timeout = True
    settings.retry_on_error = [RedisConnectionError, RedisTimeoutError]
    settings.retry = Retry(
        ExponentialBackoff(cap=BACKOFF_CAP_SECONDS, base=0.05), retries=int(RIDE_OUT_SECONDS / BACKOFF_CAP_SECONDS)
    )
    return settings


async def queue_pool(url: str) -> ArqRedis:
    return await create_pool(redis_settings(url))


class InProcessWorker:
    """An arq worker running as a task of the service's own event loop."""

    def __init__(
        self,
        *,
        functions: Sequence[Any],
        queue_name: str,
        redis_url: str,
        ctx: dict[str, Any],
        cron_jobs: Sequence[Any] = (),
        max_tries: int = 5,
        poll_delay: float = 0.1,
    ) -> None:
        self._worker = Worker(
            functions=list(functions),
            cron_jobs=list(cron_jobs) or None,
            queue_name=queue_name,
            redis_settings=redis_settings(redis_url),
            ctx=ctx,
            max_tries=max_tries,
            poll_delay=poll_delay,
            handle_signals=False,
            keep_result=3600,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._worker.async_run(), name=f"arq-worker:{self._worker.queue_name}")
        log.info("arq worker for %s runs inside this process", self._worker.queue_name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._worker.close()
        self._task = None
