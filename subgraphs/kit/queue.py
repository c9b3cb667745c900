"""arq job queues: Redis settings that survive a Redis restart, and a supervised in-process worker.

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

from subgraphs.kit.liveness import LoopHealth
from subgraphs.kit.logs import quiet_cron_jobs
from subgraphs.kit.metrics import instrument_cron_jobs, instrument_functions

log = logging.getLogger(__name__)


# A worker rides out a Redis that went away for this long before it gives up (and its supervisor
# restarts it). Code that enqueues from a request retries only a blip, and fails fast in an outage.
WORKER_RIDE_OUT_SECONDS = 120.0
ENQUEUE_RIDE_OUT_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 1.0
INITIAL_RESTART_DELAY_SECONDS = 0.1
STABLE_RUN_SECONDS = 10.0  # a worker that ran this long before failing restarts with the initial delay
CANCELLED_JOBS_WAIT_SECONDS = 5.0  # for cancelled jobs to put themselves back on the queue
# arq writes `<queue>:health-check` (TTL interval + 1 s) from its poll loop at this interval:
# `arq --check subgraphs.<name>.worker.WorkerSettings` exits 1 once a worker stopped polling.
HEALTH_CHECK_INTERVAL_SECONDS = 10


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


class _StopPolling(Exception):
    """Raised inside arq's poll loop, between two iterations, once the worker is asked to stop."""


class _SupervisedWorker(Worker):
    """arq's Worker that reports each completed poll iteration and leaves its loop between two
    iterations (never with a job half-started) once `stopping` is set.

    It hooks `Worker._poll_iteration` (arq 0.28, pinned): the tests of the in-process worker fail if a
    new arq changes it."""

    def __init__(self, *, health: LoopHealth, stopping: asyncio.Event, **options: Any) -> None:
        super().__init__(**options)
        self._health = health
        self._stopping = stopping

    async def _poll_iteration(self) -> None:
        if self._stopping.is_set():
            raise _StopPolling
        await super()._poll_iteration()
        self._health.beat()

    def in_flight(self) -> list[asyncio.Task[Any]]:
        return [task for task in self.tasks.values() if not task.done()]

    async def close_connections(self) -> None:
        """Close the pool (not `Worker.close`, which cancels the running jobs)."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        try:
            await pool.aclose(close_connection_pool=True)
        except Exception as exc:  # Redis may be gone; there is nothing left to release then
            log.debug("closing a worker pool failed: %s", exc)


class InProcessWorker:
    """An arq worker running as a task of the service's own event loop, supervised.

    Any failure of arq's poll loop restarts it with a capped backoff, logged with the exception:
    a refused connection during a Redis outage, but also e.g. the `WatchError` redis-py raises inside
    arq's `start_jobs` when the connection drops while a job id is watched (arq restarts only on its own
    errors; a standalone worker dies and its supervisor restarts it). Each restart is a fresh arq
    Worker (the failed one may have leaked a job slot); the jobs the failed one had started run to their
    end on its connections, which are closed afterwards.

    How long a command retries a lost Redis (`ride_out_seconds`) depends on where the loop was: a
    command caught mid-flight by the outage retries for that long, one that finds the pool's connection
    already gone fails at once; either way the loop restarts once the retries give up.

    `health` reports whether arq's loop is polling (register it with `ServiceRuntime.watch`, `/ready`).
    `stop()` drains: no new job is taken, in-flight jobs get `shutdown_grace_seconds`, then are cancelled
    (arq puts a cancelled job back on its queue, so it runs again later).
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
        shutdown_grace_seconds: float = 10.0,
        ride_out_seconds: float = WORKER_RIDE_OUT_SECONDS,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.queue_name = queue_name
        self.shutdown_grace_seconds = shutdown_grace_seconds
        self._options: dict[str, Any] = {
            "functions": instrument_functions(functions, queue_name),
            # idle runs log at DEBUG (kit.logs); every run is timed (kit.metrics)
            "cron_jobs": quiet_cron_jobs(instrument_cron_jobs(cron_jobs, queue_name)) or None,
            "queue_name": queue_name,
            "redis_settings": redis_settings(redis_url, ride_out_seconds),
            "ctx": ctx,
            "max_tries": max_tries,
            "poll_delay": poll_delay,
            "handle_signals": False,
            "keep_result": 3600,
            "health_check_interval": HEALTH_CHECK_INTERVAL_SECONDS,
            **(options or {}),
        }
        self.health = LoopHealth(f"worker:{queue_name}")
        self._stopping = asyncio.Event()
        self._worker: _SupervisedWorker | None = None
        self._retired: list[_SupervisedWorker] = []
        self._closers: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.restarts = 0

    async def start(self) -> None:
        self._stopping.clear()
        self.health.starting()
        self._task = asyncio.create_task(self._supervise(), name=f"arq-worker:{self.queue_name}")
        log.info("arq worker for %s runs inside this process", self.queue_name)

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = INITIAL_RESTART_DELAY_SECONDS
        while not self._stopping.is_set():
            worker = _SupervisedWorker(health=self.health, stopping=self._stopping, **self._options)
            self._worker = worker
            self.health.starting()
            began = loop.time()
            try:
                await worker.async_run()
                raise RuntimeError("arq's poll loop returned")  # only burst mode returns; we never use it
            except _StopPolling:
                return
            except asyncio.CancelledError as exc:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # stop() gave up waiting
                self._failed(exc, delay)  # something cancelled arq's loop task, not us
            except Exception as exc:
                self._failed(exc, delay)
            self._retire(worker)
            if loop.time() - began >= STABLE_RUN_SECONDS:
                delay = INITIAL_RESTART_DELAY_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            delay = min(delay * 2, BACKOFF_CAP_SECONDS)

    def _failed(self, exc: BaseException, delay: float) -> None:
        self.health.failed(exc)
        self.restarts += 1
        if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
            log.warning("arq worker for %s lost Redis (%s: %s); restarting in %.1fs",
                        self.queue_name, exc.__class__.__name__, exc, delay)
        else:
            log.error("arq worker loop for %s failed; restarting in %.1fs", self.queue_name, delay, exc_info=exc)

    def _retire(self, worker: _SupervisedWorker) -> None:
        """Let the failed worker's jobs finish on its connections, then close them."""
        worker.allow_pick_jobs = False
        self._retired.append(worker)
        closer = asyncio.create_task(self._close_when_idle(worker), name=f"arq-worker-retire:{self.queue_name}")
        self._closers.add(closer)
        closer.add_done_callback(self._closers.discard)

    async def _close_when_idle(self, worker: _SupervisedWorker) -> None:
        in_flight = worker.in_flight()
        if in_flight:
            await asyncio.wait(in_flight)
        for task in in_flight:
            if not task.cancelled() and (error := task.exception()) is not None:
                log.error("a %s job of a restarted worker failed", self.queue_name, exc_info=error)
        await worker.close_connections()
        self._retired.remove(worker)

    def _workers(self) -> list[_SupervisedWorker]:
        return [*self._retired, *([self._worker] if self._worker is not None else [])]

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop polling, wait for in-flight jobs up to the grace period, cancel the rest, close.

        Nothing a job raises (its CancelledError included) escapes; only a cancellation of stop()
        itself propagates."""
        if self._task is None:
            return
        grace = self.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self._stopping.set()
        self.health.stopping()
        for worker in self._workers():
            worker.allow_pick_jobs = False
        # arq's loop leaves at its next iteration; a loop stuck in a Redis command is cancelled.
        await asyncio.wait([self._task], timeout=max(0.0, deadline - loop.time()))
        if not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task])
        if not self._task.cancelled() and (error := self._task.exception()) is not None:
            log.error("arq worker for %s ended with an error", self.queue_name, exc_info=error)
        self._task = None
        in_flight = [task for worker in self._workers() for task in worker.in_flight()]
        if in_flight:
            log.info("waiting up to %.1fs for %d %s job(s) to finish", max(0.0, deadline - loop.time()),
                     len(in_flight), self.queue_name)
            _, pending = await asyncio.wait(in_flight, timeout=max(0.0, deadline - loop.time()))
            if pending:
                log.warning("cancelling %d %s job(s) still running after %.1fs; arq runs them again later",
                            len(pending), self.queue_name, grace)
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending, timeout=CANCELLED_JOBS_WAIT_SECONDS)
        closers = list(self._closers)
        for closer in closers:
            closer.cancel()
        if closers:
            await asyncio.wait(closers)
        for worker in self._workers():
            with contextlib.suppress(Exception):
                if worker._pool is not None:
                    await worker.pool.delete(worker.health_check_key)
            await worker.close_connections()
        self._retired.clear()
        self._worker = None
        self.health.stopped()
