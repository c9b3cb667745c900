"""Shared upstream subscriptions: equal upstream requests ride on one subgraph subscription.

The key is the whole :class:`UpstreamRequest` (subgraph, query text, variables, authorization,
forwarded headers), so clients share a socket only when the subgraph would see the very same
request. Each client gets its own bounded buffer; a client that falls too far behind is cut off
with an error instead of growing memory or slowing the others. The upstream is closed when the
last client leaves, and clients are ended with an error when the upstream fails.

Per-request identity headers (X-Request-ID, traceparent, tracestate) are not part of the key: the
upstream carries those of the client that opened it (gateway.subscriptions.upstream). Events are
numbered per upstream, so the clients of one upstream can tell that they got the same event and
complete it once between them (gateway.subscriptions.sharing).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

from .executor import OperationError
from .upstream import UpstreamRequest

logger = logging.getLogger("gateway.subscriptions.hub")

Source = Callable[[UpstreamRequest], AsyncGenerator[dict[str, Any], None]]


class HubSubscription:
    """One client's view of a shared upstream subscription (an async iterator of raw results)."""

    def __init__(self, hub: SubscriptionHub, entry: _Entry, max_pending: int) -> None:
        self._hub = hub
        self._entry = entry
        self._max_pending = max_pending
        self._pending: deque[tuple[int, dict[str, Any]]] = deque()
        self._wakeup = asyncio.Event()
        self._ended = False
        self._error: OperationError | None = None
        # the number of the first event this client gets (events before it were pumped before it joined)
        self.first_sequence = entry.sequence + 1

    @property
    def upstream(self) -> object:
        """The running upstream this client reads (equal for the clients sharing one, for its lifetime)."""
        return self._entry

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return (await self.next_event())[1]

    async def next_event(self) -> tuple[int, dict[str, Any]]:
        """The next raw result and its number in the upstream's sequence (1, 2, ...: the same event
        has the same number for every client of the upstream)."""
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    def _push(self, sequence: int, result: dict[str, Any]) -> bool:
        if self._ended:
            return True
        if len(self._pending) >= self._max_pending:
            return False
        self._pending.append((sequence, result))
        self._wakeup.set()
        return True

    def _finish(self, error: OperationError | None) -> None:
        if not self._ended:
            self._ended = True
            self._error = error
            self._wakeup.set()

    async def aclose(self) -> None:
        self._finish(None)
        await self._hub._leave(self._entry, self)


class _Entry:
    __slots__ = ("request", "sequence", "subscribers", "task")

    def __init__(self, request: UpstreamRequest) -> None:
        self.request = request
        self.sequence = 0  # events pumped so far
        self.subscribers: set[HubSubscription] = set()
        self.task: asyncio.Task[None] | None = None


class SubscriptionHub:
    """Registry of running upstream subscriptions, one per distinct :class:`UpstreamRequest`."""

    def __init__(self, source: Source, *, max_pending: int = 1000) -> None:
        self._source = source
        self._max_pending = max_pending
        self._entries: dict[UpstreamRequest, _Entry] = {}
        self._closed = False

    @property
    def upstream_count(self) -> int:
        """Upstream subscriptions running now."""
        return len(self._entries)

    def subscriber_count(self, request: UpstreamRequest) -> int:
        entry = self._entries.get(request)
        return len(entry.subscribers) if entry else 0

    def join(self, request: UpstreamRequest) -> HubSubscription:
        """Subscribe to `request`'s results from now on, starting the upstream when it is new."""
        if self._closed:
            raise OperationError.single("the gateway is shutting down", "SHUTTING_DOWN")
        entry = self._entries.get(request)
        if entry is None:
            entry = _Entry(request)
            self._entries[request] = entry
            entry.task = asyncio.create_task(self._pump(entry), name=f"upstream-subscription:{request.service}")
        subscription = HubSubscription(self, entry, self._max_pending)
        entry.subscribers.add(subscription)
        return subscription

    async def _pump(self, entry: _Entry) -> None:
        error: OperationError | None = None
        try:
            async with aclosing(self._source(entry.request)) as results:
                async for result in results:
                    entry.sequence += 1
                    for subscriber in list(entry.subscribers):
                        if not subscriber._push(entry.sequence, result):
                            entry.subscribers.discard(subscriber)
                            subscriber._finish(
                                OperationError.single(
                                    f"subscription cancelled: more than {self._max_pending} events were pending "
                                    "for this client",
                                    "SUBSCRIPTION_OVERFLOW",
                                )
                            )
                    if not entry.subscribers:
                        return
        except OperationError as exc:
            error = exc
        except Exception:
            logger.exception("upstream subscription to %s failed", entry.request.service)
            error = OperationError.single(
                f"subscription to subgraph '{entry.request.service}' failed", "SUBREQUEST_HTTP_ERROR"
            )
        finally:
            if self._entries.get(entry.request) is entry:
                del self._entries[entry.request]
            for subscriber in list(entry.subscribers):
                subscriber._finish(error)
            entry.subscribers.clear()

    async def _leave(self, entry: _Entry, subscription: HubSubscription) -> None:
        entry.subscribers.discard(subscription)
        if entry.subscribers:
            return
        if self._entries.get(entry.request) is entry:
            del self._entries[entry.request]
        await _stop(entry.task)

    async def aclose(self) -> None:
        """End every upstream subscription (gateway shutdown)."""
        self._closed = True
        entries = list(self._entries.values())
        self._entries.clear()
        for entry in entries:
            for subscriber in list(entry.subscribers):
                subscriber._finish(OperationError.single("the gateway is shutting down", "SHUTTING_DOWN"))
        await asyncio.gather(*(_stop(entry.task) for entry in entries))


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
