"""In-flight deduplication: identical subgraph queries sent at the same time share one exchange.

Fifty clients asking for the same catalog page at once make fifty identical root fetches; the
first (the leader) goes to the subgraph and the others wait for its answer. Only the raw answer is
shared (status, body bytes, Cache-Control and Cache-Tag): each caller parses its own copy, since the executor merges the
parsed objects into its own response in place. The key is the subgraph, the body and the headers
that can change the answer; per-request correlation headers (`x-request-id`, trace context) are
not part of it, so a follower's fetch is logged under the leader's id at the subgraph.

Queries only (the caller says so): a mutation always makes its own request. A leader cancelled
midway (its client went away) does not fail its followers: they send the request themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping

from .transport import Response, TransportError

CORRELATION_HEADERS = frozenset({"x-request-id", "traceparent", "tracestate"})

Exchange = Response


def identity(service: str, body: bytes, headers: Mapping[str, str]) -> Hashable:
    """What makes two fetches the same fetch."""
    return service, body, tuple(item for item in headers.items() if item[0] not in CORRELATION_HEADERS)


class _LeaderGone(Exception):
    """The leader's request was cancelled: a follower sends its own."""


class InFlight:
    """The exchanges under way, by `identity`."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, asyncio.Future[Exchange]] = {}
        self.joined = 0  # fetches that waited for another's exchange instead of sending their own

    def __len__(self) -> int:
        return len(self._pending)

    async def share(self, key: Hashable, send: Callable[[], Awaitable[Exchange]]) -> Exchange:
        """The exchange for `key`: the one under way if there is one, else `send()`'s."""
        pending = self._pending.get(key)
        while pending is not None:
            self.joined += 1
            try:
                return await asyncio.shield(pending)
            except _LeaderGone:
                pending = self._pending.get(key)
            except TransportError as exc:  # a fresh exception per caller, not one shared traceback
                raise type(exc)(*exc.args) from None
        future: asyncio.Future[Exchange] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            result = await send()
        except asyncio.CancelledError:
            future.set_exception(_LeaderGone())
            raise
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning when nobody followed
