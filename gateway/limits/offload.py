"""Prepare fresh documents in worker threads so one client's big document cannot stall the others.

Parsing, validating and planning are pure Python, so a worker thread still shares the GIL with the
event loop; but the interpreter hands the GIL over every few milliseconds, so the loop keeps
serving cached requests while a worker grinds through a big document. Concurrency is bounded
(`workers`) and so is the number of documents waiting for a worker (`queue`): beyond that a fresh
document is refused at once with 503 instead of piling up. The same document sent by several
clients at once is prepared once (they all wait for that one preparation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from ..errors import RequestError

T = TypeVar("T")

PREPARE_QUEUE_FULL = "PREPARE_QUEUE_FULL"


class PrepareOffload(Generic[T]):
    def __init__(self, workers: int, queue: int) -> None:
        self.workers = max(1, workers)
        self.capacity = self.workers + max(0, queue)
        self.busy = 0  # preparations submitted and not finished (running or waiting)
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: dict[Hashable, asyncio.Future[T]] = {}

    async def run(self, key: Hashable, work: Callable[[], T]) -> T:
        """`work()` in a worker thread; raises what it raises, or a 503 RequestError when full."""
        future = self._in_flight.get(key)
        if future is None:
            if self.busy >= self.capacity:
                raise RequestError(
                    [
                        {
                            "message": "The gateway is busy preparing other new operations; retry shortly.",
                            "extensions": {"code": PREPARE_QUEUE_FULL, "limit": self.capacity},
                        }
                    ],
                    503,
                )
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="gateway-prepare")
            future = asyncio.get_running_loop().run_in_executor(self._pool, work)
            self.busy += 1
            self._in_flight[key] = future
            # a client that goes away does not free the worker: count it free when the work ends
            future.add_done_callback(lambda done: self._done(key, done))
        # shield: one waiter's cancellation must not cancel the preparation the others wait for
        return await asyncio.shield(future)

    def _done(self, key: Hashable, done: asyncio.Future[T]) -> None:
        self.busy -= 1
        self._in_flight.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone away

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
