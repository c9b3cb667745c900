"""The gateway's Prometheus metrics (docs/observability.md#metrics).

`GATEWAY_METRICS=0` turns them off (nothing is recorded, `/metrics` is 404). Several uvicorn workers
(`gateway serve --workers N`) share one `PROMETHEUS_MULTIPROC_DIR`, set up (and removed) by the
parent before it forks (`multiprocess_dir`): any worker answering `/metrics` renders every worker's
files, gauges summed over the live workers. Operation names are client-chosen, so only the first
`GATEWAY_METRICS_MAX_OPERATIONS` distinct names a process sees are labels; later ones are `other`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import os
import shutil
import tempfile
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

ENABLED = os.environ.get("GATEWAY_METRICS", "1").lower() not in ("0", "false", "no", "off")
MAX_OPERATIONS = int(os.environ.get("GATEWAY_METRICS_MAX_OPERATIONS", "100"))
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@contextlib.contextmanager
def multiprocess_dir(workers: int) -> Iterator[None]:
    """For `workers > 1`: a fresh PROMETHEUS_MULTIPROC_DIR for the forked workers, removed at exit
    (an operator's own directory is used as it is and left in place)."""
    if not ENABLED or workers <= 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    path = tempfile.mkdtemp(prefix="gateway-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


# Imported after the docstring's contract: prometheus_client picks its multiprocess value class from
# the environment when first imported, which in a worker is after the parent set the directory.
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("gateway_requests_total", "GraphQL requests over HTTP",
                   ["operation_name", "operation_type", "outcome"])
REQUEST_DURATION = Histogram("gateway_request_duration_seconds", "GraphQL requests over HTTP, end to end",
                             ["operation_name", "operation_type", "outcome"], buckets=_BUCKETS)
FETCH_DURATION = Histogram("gateway_subgraph_fetch_duration_seconds", "fetches from a subgraph",
                           ["subgraph", "outcome"], buckets=_BUCKETS)
FETCH_ERRORS = Counter("gateway_subgraph_fetch_errors_total", "fetches that failed (no GraphQL answer)",
                       ["subgraph", "reason"])
PLAN_CACHE = Counter("gateway_plan_cache_requests_total", "plan cache lookups", ["result"])
CONNECTIONS = Gauge("gateway_open_connections", "open WebSocket and SSE connections", ["transport"],
                    multiprocess_mode="livesum")
SUBSCRIPTIONS = Gauge("gateway_active_subscriptions", "subscriptions being served", ["transport"],
                      multiprocess_mode="livesum")
REFUSALS = Counter("gateway_refusals_total", "requests refused before execution", ["reason"])
CACHE_LOOKUPS = Counter("gateway_cache_lookups_total", "entity and root query cache lookups (per entity)",
                        ["kind", "result"])
CACHE_STORES = Counter("gateway_cache_stores_total", "entries written to the entity and query cache", ["kind"])
CACHE_INVALIDATIONS = Counter("gateway_cache_invalidations_total", "invalidation items applied",
                              ["source", "kind"])
CACHE_ERRORS = Counter("gateway_cache_errors_total", "cache operations Redis failed", ["operation"])
GC_PAUSES = Histogram("gateway_gc_pause_seconds", "cyclic garbage collections: how long each held the worker",
                      ["generation"], buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1, 0.25))

_operation_names: set[str] = set()
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, memoised: the hot path skips prometheus_client's lookup and lock."""
    key = (id(metric), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


# The hot path only adds to plain dicts; `flush` hands the sums to prometheus_client (whose every
# inc/observe takes a lock and, with several workers, writes a memory-mapped file) before a scrape
# and every FLUSH_SECONDS, so another worker's figures are at most that old in a scrape.
FLUSH_SECONDS = 1.0
_counts: dict[Any, float] = {}
_observations: dict[Any, list[float]] = {}  # histogram child -> [sum, count per bucket...]
_flusher: asyncio.Task[None] | None = None


def _count(metric: Any, *labels: str, amount: float = 1.0) -> None:
    child = _child(metric, *labels)
    _counts[child] = _counts.get(child, 0.0) + amount
    if _flusher is None:
        _start_flusher()


def _observe(metric: Any, value: float, *labels: str) -> None:
    child = _child(metric, *labels)
    row = _observations.get(child)
    if row is None:
        row = _observations[child] = [0.0] * (len(child._upper_bounds) + 1)
    row[0] += value
    row[bisect_left(child._upper_bounds, value) + 1] += 1.0


def flush() -> None:
    """Hand the buffered counts and observations to prometheus_client."""
    global _counts, _observations
    counts, observations = _counts, _observations
    _counts, _observations = {}, {}
    for child, amount in counts.items():
        child.inc(amount)
    for child, row in observations.items():  # as Histogram.observe does, in bulk (prometheus-client is pinned)
        child._sum.inc(row[0])
        for bucket, amount in zip(child._buckets, row[1:], strict=True):
            if amount:
                bucket.inc(amount)


def start() -> None:
    """Start the flusher with the app (the gateway's lifespan): a task the first request made would
    outlive that request and look leaked. Without a running app it starts at the first count. Also
    starts timing the worker's garbage collections (`watch_gc`)."""
    if ENABLED:
        watch_gc()
        if _flusher is None:
            _start_flusher()


class _GcPauses:
    """A `gc.callbacks` entry observing every collection's pause into GC_PAUSES, by generation.

    A collection can start at any allocation, inside prometheus_client too, whose locks are not
    re-entrant: so the histogram's children are made here, up front, and a pause only adds to the
    buffered observations (`_observe` finds its child memoised and takes no lock)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.generations = tuple(str(generation) for generation in range(3))
        for generation in self.generations:
            _child(GC_PAUSES, generation)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        elif self.started:
            _observe(GC_PAUSES, time.perf_counter() - self.started, self.generations[info["generation"]])


def watch_gc() -> None:
    """Time this process's garbage collections (once; again after `unwatch_gc`)."""
    if not any(isinstance(callback, _GcPauses) for callback in gc.callbacks):
        gc.callbacks.append(_GcPauses())


def unwatch_gc() -> None:
    gc.callbacks[:] = [callback for callback in gc.callbacks if not isinstance(callback, _GcPauses)]


def stop() -> None:
    """At shutdown: stop the flusher and the GC timing; the counts still buffered go to prometheus_client."""
    unwatch_gc()
    if _flusher is not None:
        _flusher.cancel()
    flush()


def _start_flusher() -> None:
    global _flusher
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (a synchronous caller): flushed at the next scrape
        return
    _flusher = loop.create_task(_flush_every(FLUSH_SECONDS))


async def _flush_every(seconds: float) -> None:
    global _flusher
    try:
        while True:
            await asyncio.sleep(seconds)  # a timer, not synchronisation
            flush()
    finally:
        _flusher = None
        flush()


def operation_label(name: str | None) -> str:
    """The bounded label for a client-chosen operation name."""
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if len(_operation_names) < MAX_OPERATIONS and len(name) <= 100:
        _operation_names.add(name)
        return name
    return "other"


@dataclass
class _Request:
    name: str | None = None
    kind: str = "unknown"
    errors: bool = False
    status: int = 200
    event_stream: bool = False


_current: ContextVar[_Request | None] = ContextVar("gateway_metrics_request", default=None)


def note_operation(name: str | None, kind: str) -> None:
    record = _current.get()
    if record is not None:
        record.name, record.kind = name, kind


def note_response(response: Any) -> None:
    record = _current.get()
    if record is not None and isinstance(response, dict) and response.get("errors"):
        record.errors = True


def note_refusal(errors: list[dict[str, Any]]) -> None:
    """Count a refusal before execution, its reason read from the first error's code."""
    if not ENABLED:
        return
    code = ""
    if errors and isinstance(errors[0].get("extensions"), dict):
        code = str(errors[0]["extensions"].get("code") or "")
    if code == "RATE_LIMITED":
        reason = "rate_limit"
    elif "LIMIT" in code or "COST" in code or "EXCEEDED" in code or "TOO_" in code:  # MAX_*_EXCEEDED
        reason = "limit"
    else:
        reason = "bad_request"
    _count(REFUSALS, reason)


def count_refusal(reason: str) -> None:
    """Count a refusal whose reason is known (`limit`: a connection or per-connection operation limit)."""
    if ENABLED:
        _count(REFUSALS, reason)


def plan_cache(hit: bool) -> None:
    if ENABLED:
        _count(PLAN_CACHE, "hit" if hit else "miss")


def observe_fetch(subgraph: str, started: float, error_code: str | None) -> None:
    if not ENABLED:
        return
    outcome = "ok" if error_code is None else ("timeout" if error_code == "SUBREQUEST_TIMEOUT" else "error")
    _observe(FETCH_DURATION, time.perf_counter() - started, subgraph, outcome)
    if error_code is not None:
        _count(FETCH_ERRORS, subgraph, outcome)


def cache_lookup(kind: str, hits: int, misses: int) -> None:
    """`kind`: entity | root."""
    if ENABLED:
        if hits:
            _count(CACHE_LOOKUPS, kind, "hit", amount=hits)
        if misses:
            _count(CACHE_LOOKUPS, kind, "miss", amount=misses)


def cache_stored(kind: str, entries: int) -> None:
    if ENABLED and entries:
        _count(CACHE_STORES, kind, amount=entries)


def cache_invalidated(source: str, kind: str) -> None:
    """`source`: endpoint | mutation; `kind`: entity | type | subgraph."""
    if ENABLED:
        _count(CACHE_INVALIDATIONS, source, kind)


def cache_error(operation: str) -> None:
    """`operation`: lookup | store | invalidate."""
    if ENABLED:
        _count(CACHE_ERRORS, operation)


def subscription_changed(transport: str, delta: int) -> None:
    if ENABLED:
        _child(SUBSCRIPTIONS, transport).inc(delta)


def _outcome(record: _Request) -> str:
    if record.status >= 500:
        return "failed"
    if record.status >= 400:
        return "refused"
    return "error" if record.errors else "success"


def _registry() -> Any:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class MetricsMiddleware:
    """Outermost ASGI layer: serves the metrics path and times /graphql (HTTP, SSE, WebSocket)."""

    def __init__(self, app: Any, *, production: bool, path: str | None = None, graphql_path: str = "/graphql"):
        self.app = app
        self.path = path or os.environ.get("GATEWAY_METRICS_PATH") or "/metrics"
        self.token = os.environ.get("METRICS_TOKEN") or None
        self.closed = production and self.token is None  # production: only with a token
        self.graphql_paths = (graphql_path, graphql_path + "/")

    def __getattr__(self, name: str) -> Any:  # `.app`, `.realtime`... of the wrapped app stay reachable
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        path = scope.get("path", "")
        if kind == "lifespan":
            await self.app(scope, _flushing_at_shutdown(receive), send)
        elif kind == "http" and path == self.path and not self.closed:
            await self._expose(scope, send)
        elif path not in self.graphql_paths:
            await self.app(scope, receive, send)
        elif kind == "websocket":
            gauge = CONNECTIONS.labels("websocket")
            gauge.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                gauge.dec()
        else:
            await self._timed(scope, receive, send)

    async def _timed(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = _Request()
        token = _current.set(record)
        started = time.perf_counter()

        def sending(message: Message) -> Awaitable[None]:  # not async: no coroutine of its own per message
            if message["type"] == "http.response.start":
                record.status = int(message["status"])
                for name, value in message.get("headers") or ():
                    if name == b"content-type" and value.startswith(b"text/event-stream"):
                        record.event_stream = True
                        CONNECTIONS.labels("sse").inc()
                        SUBSCRIPTIONS.labels("sse").inc()
            return send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            record.status = 500
            raise
        finally:
            _current.reset(token)
            if record.event_stream:
                CONNECTIONS.labels("sse").dec()
                SUBSCRIPTIONS.labels("sse").dec()
                kind = "subscription"
            else:
                kind = record.kind
            outcome = _outcome(record)
            name = operation_label(record.name)
            _count(REQUESTS, name, kind, outcome)
            _observe(REQUEST_DURATION, time.perf_counter() - started, name, kind, outcome)

    async def _expose(self, scope: Scope, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.token and not hmac.compare_digest(
            headers.get("authorization", "").encode(), f"Bearer {self.token}".encode()
        ):
            body, status, media = b'{"errors":[{"message":"metrics need the bearer token"}]}', 401, "application/json"
        else:
            flush()
            body, status, media = generate_latest(_registry()), 200, CONTENT_TYPE_LATEST
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _flushing_at_shutdown(receive: Receive) -> Receive:
    async def wrapped() -> Message:
        message = await receive()
        if message["type"] == "lifespan.shutdown":
            stop()
        return message

    return wrapped


def with_metrics(app: Any, *, production: bool) -> Any:
    """`app` behind the metrics layer, or `app` itself with GATEWAY_METRICS=0."""
    return MetricsMiddleware(app, production=production) if ENABLED else app
