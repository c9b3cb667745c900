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


# A worker rides out a Redis that went away for this long before it gives up (and its supervisor
# restarts it). Code that enqueues from a request retries only a blip, and fails fast in an outage.
WORKER_RIDE_OUT_SECONDS = 120.0
ENQUEUE_RIDE_OUT_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 1.0


def redis_settings(url: str, ride_out_seconds: float = WORKER_RIDE_OUT_SECONDS) -> RedisSettings:
    """arq connection settings that keep retrying while Redis restarts: while connecting, and on every
    command once running (arq's poll loop dies on the first connection error otherwise)."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_retries = 60
    settings.conn_retry_delay = 1
    settings.retry_on_timeout = True
    settings.retry_on_error = [RedisConnectionError, RedisTimeoutError]
    retries = max(1, int(ride_out_seconds / BACKOFF_CAP_SECONDS))
    settings.retry = Retry(ExponentialBackoff(cap=BACKOFF_CAP_SECONDS, base=0.05), retries=retries)
    return settings


async def queue_pool(url: str) -> ArqRedis:
    """A pool for enqueuing jobs from a service (not for a worker): short retries."""
    return await create_pool(redis_settings(url, ride_out_seconds=ENQUEUE_RIDE_OUT_SECONDS))


class InProcessWorker:
    """An arq worker running as a task of the service's own event loop, restarted when Redis goes away.

    redis-py raises a refused connection before its per-command retry applies, so arq's poll loop
    ends on the first poll during a Redis outage; a standalone worker is restarted by its supervisor,
    this one restarts itself with a capped backoff.
    """

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
        self.queue_name = queue_name
        self._options: dict[str, Any] = {
            "functions": list(functions),
            "cron_jobs": list(cron_jobs) or None,
            "queue_name": queue_name,
            "redis_settings": redis_settings(redis_url),
            "ctx": ctx,
            "max_tries": max_tries,
            "poll_delay": poll_delay,
            "handle_signals": False,
            "keep_result": 3600,
        }
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None
        self.restarts = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"arq-worker:{self.queue_name}")
        log.info("arq worker for %s runs inside this process", self.queue_name)

    async def _supervise(self) -> None:
        delay = 0.1
        while True:
            self._worker = Worker(**self._options)
            try:
                await self._worker.async_run()
                return
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("arq worker for %s lost Redis (%s); restarting in %.1fs", self.queue_name, exc, delay)
            with contextlib.suppress(Exception):
                await self._worker.close()
            self.restarts += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP_SECONDS)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._worker is not None:
            try:
                await self._worker.close()
            except asyncio.CancelledError:
                # arq's close() awaits the job tasks the stop just cancelled and re-raises their
                # CancelledError; only a cancellation of this stop itself is passed on.
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
            except Exception:
                log.debug("closing the arq worker of %s failed", self.queue_name, exc_info=True)
        self._task = None
