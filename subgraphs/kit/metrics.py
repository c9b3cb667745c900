"""Prometheus metrics of a service and its worker (docs/observability.md#metrics).

Event-driven metrics (GraphQL operations, Mongo and Redis commands, jobs, the outbox relay) live in
`REGISTRY`, one per process, labelled with what they measure (a service, a queue, a collection): in
production a process runs one service, so its `/metrics` is that service's. Gauges read from Mongo or
Redis (backlogs, lags, domain counts) are computed when `/metrics` is scraped, by the `Source`s a
service registers, each cached `SCRAPE_CACHE_SECONDS` so a scrape storm costs one count per window.

A standalone worker (`python -m subgraphs.kit.worker_process`) serves `REGISTRY` on its own small
listener when `WORKER_METRICS_PORT` is set (`serve_worker_metrics`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pymongo import monitoring
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

log = logging.getLogger(__name__)

SCRAPE_CACHE_SECONDS = float(os.environ.get("METRICS_SCRAPE_CACHE_SECONDS", "5"))
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
JOB_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

REGISTRY = CollectorRegistry()

GRAPHQL_DURATION = Histogram(
    "service_graphql_operation_duration_seconds", "GraphQL operations served by the subgraph",
    ["service", "operation_type"], buckets=FAST_BUCKETS, registry=REGISTRY,
)
GRAPHQL_ERRORS = Counter(
    "service_graphql_operation_errors_total", "GraphQL operations answered with errors",
    ["service", "operation_type"], registry=REGISTRY,
)
MONGO_DURATION = Histogram(
    "service_mongo_command_duration_seconds", "MongoDB commands (pymongo/motor command monitoring)",
    ["service", "command", "outcome"], buckets=FAST_BUCKETS, registry=REGISTRY,
)
REDIS_DURATION = Histogram(
    "service_redis_command_duration_seconds", "Redis commands of the service's client (blocking reads included)",
    ["command", "outcome"], buckets=FAST_BUCKETS, registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "service_job_duration_seconds", "arq jobs run by the worker", ["queue", "function", "outcome"],
    buckets=JOB_BUCKETS, registry=REGISTRY,
)
JOB_RETRIES = Counter(
    "service_job_retries_total", "job runs that were a retry (arq job_try > 1)", ["queue", "function"],
    registry=REGISTRY,
)
JOB_FAILURES = Counter(
    "service_job_failures_total", "job runs that raised (arq retries or gives up)", ["queue", "function"],
    registry=REGISTRY,
)
RELAY_LAG = Histogram(
    "service_outbox_relay_lag_seconds", "from an event's occurred_at to its publication on the stream",
    ["collection"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0), registry=REGISTRY,
)

# Mongo commands and Redis commands are a driver's vocabulary; anything else is counted as "other".
_MONGO_COMMANDS = frozenset({
    "find", "insert", "update", "delete", "aggregate", "count", "distinct", "findAndModify", "getMore",
    "createIndexes", "listIndexes", "killCursors", "ping", "hello", "isMaster", "ismaster", "endSessions",
    "commitTransaction", "abortTransaction", "listCollections", "drop", "dropDatabase",
})
_MAX_REDIS_COMMANDS = 64
_redis_commands: set[str] = set()


# --- GraphQL operations ------------------------------------------------------------------------
def graphql_extension(service: str) -> type[SchemaExtension]:
    """A Strawberry extension timing each operation, labelled by its type (never by client names)."""

    class GraphQLMetrics(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            started = time.perf_counter()
            yield
            context = self.execution_context
            try:
                kind = context.operation_type.value
            except Exception:  # a document that did not parse has no operation type
                kind = "unknown"
            GRAPHQL_DURATION.labels(service, kind).observe(time.perf_counter() - started)
            result = context.result
            if context.pre_execution_errors or (result is not None and getattr(result, "errors", None)):
                GRAPHQL_ERRORS.labels(service, kind).inc()

    return GraphQLMetrics


def instrument_schema(schema: Any, service: str) -> None:
    extensions = list(getattr(schema, "extensions", []) or [])
    if not any(getattr(ext, "__name__", "") == "GraphQLMetrics" for ext in extensions):
        schema.extensions = [*extensions, graphql_extension(service)]


# --- Mongo -------------------------------------------------------------------------------------
class MongoCommandMetrics(monitoring.CommandListener):
    """Command monitoring: the driver calls these synchronously around every command (cheap)."""

    def __init__(self, service: str) -> None:
        self.service = service

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event.command_name, "ok", event.duration_micros)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event.command_name, "error", event.duration_micros)

    def _observe(self, command: str, outcome: str, micros: int) -> None:
        name = command if command in _MONGO_COMMANDS else "other"
        MONGO_DURATION.labels(self.service, name, outcome).observe(micros / 1e6)


# --- Redis -------------------------------------------------------------------------------------
def redis_command_label(args: Sequence[Any]) -> str:
    if not args:
        return "other"
    name = str(args[0]).split(" ", 1)[0].lower()
    if name in _redis_commands:
        return name
    if len(_redis_commands) < _MAX_REDIS_COMMANDS and name.isascii() and name.replace("_", "").isalpha():
        _redis_commands.add(name)
        return name
    return "other"


def observe_redis(args: Sequence[Any], started: float, ok: bool) -> None:
    REDIS_DURATION.labels(redis_command_label(args), "ok" if ok else "error").observe(time.perf_counter() - started)


# --- jobs ---------------------------------------------------------------------------------------
def instrument_functions(functions: Sequence[Any], queue: str) -> list[Any]:
    """arq functions (coroutines or `arq.worker.Function`s) wrapped to time each run."""
    from arq.worker import Function, func

    wrapped: list[Any] = []
    for function in functions:
        spec = function if isinstance(function, Function) else func(function)
        timed = _timed_job(spec.coroutine, queue, spec.name)
        wrapped.append(Function(spec.name, timed, spec.timeout_s, spec.keep_result_s, spec.keep_result_forever,
                                spec.max_tries))
    return wrapped


def instrument_cron_jobs(cron_jobs: Sequence[Any], queue: str) -> list[Any]:
    """arq `CronJob`s with their coroutine timed like a job's."""
    import dataclasses

    return [dataclasses.replace(job, coroutine=_timed_job(job.coroutine, queue, job.name)) for job in cron_jobs]


def _timed_job(coroutine: Callable[..., Awaitable[Any]], queue: str, name: str) -> Any:
    @wraps(coroutine)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if int(ctx.get("job_try") or 1) > 1:
            JOB_RETRIES.labels(queue, name).inc()
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await coroutine(ctx, *args, **kwargs)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except BaseException:
            outcome = "error"
            JOB_FAILURES.labels(queue, name).inc()
            raise
        finally:
            JOB_DURATION.labels(queue, name, outcome).observe(time.perf_counter() - started)

    return run


# --- the outbox relay ---------------------------------------------------------------------------
def observe_relay_lag(collection: str, occurred_at: str) -> None:
    try:
        when = datetime.fromisoformat(occurred_at)
    except ValueError:
        return
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    RELAY_LAG.labels(collection).observe(max(0.0, (datetime.now(UTC) - when).total_seconds()))


# --- scrape-time gauges ------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    name: str
    help: str
    labels: dict[str, str]
    value: float


Source = Callable[[], Awaitable[list[Sample]]]


@dataclass(eq=False)  # registered by identity
class ScrapeGauges(Collector):
    """Gauges from `sources`, refreshed at most every `ttl` seconds (by `refresh`, before rendering)."""

    sources: list[Source] = field(default_factory=list)
    ttl: float = SCRAPE_CACHE_SECONDS
    _samples: list[Sample] = field(default_factory=list)
    _at: float = float("-inf")
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return
            samples: list[Sample] = []
            for source in self.sources:
                try:
                    samples.extend(await source())
                except Exception as exc:  # a scrape reports what it can; one failing source is logged
                    log.warning("metrics source %s failed: %s", getattr(source, "__qualname__", source), exc)
            self._samples, self._at = samples, time.monotonic()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for sample in self._samples:
            family = families.get(sample.name)
            if family is None:
                family = families[sample.name] = GaugeMetricFamily(
                    sample.name, sample.help, labels=list(sample.labels)
                )
            family.add_metric(list(sample.labels.values()), sample.value)
        yield from families.values()


def stream_sources(redis: Callable[[], Any], queues: Sequence[str] = ()) -> list[Source]:
    """The event stream per consumer group (lag, pending, dead letters) and the arq queue depths."""
    from subgraphs.kit.events.stats import stream_stats

    async def stream() -> list[Sample]:
        stats = await stream_stats(redis())
        out = [Sample("events_stream_length", "entries on the event stream", {}, stats.length),
               Sample("events_outbox_dead_letters", "outbox entries that could never be published", {},
                      stats.outbox_dead_letters)]
        for group in stats.groups.values():
            labels = {"group": group.name}
            out += [
                Sample("events_consumer_lag", "entries not yet delivered to the group", labels, group.lag),
                Sample("events_consumer_pending", "entries delivered, not acknowledged", labels, group.pending),
                Sample("events_dead_letters", "entries the group gave up on", labels, group.dead_letters),
            ]
        return out

    async def depth() -> list[Sample]:
        client = redis()
        return [Sample("service_queue_depth", "jobs waiting on the arq queue", {"queue": q},
                       float(await client.zcard(q))) for q in queues]

    return [stream, depth] if queues else [stream]


def outbox_source(collections: Callable[[], Sequence[Any]]) -> Source:
    """Documents holding an unpublished outbox entry (indexed on `outbox.published`)."""
    from subgraphs.kit.events.outbox import UNPUBLISHED

    async def backlog() -> list[Sample]:
        return [Sample("service_outbox_backlog", "documents with an unpublished outbox entry",
                       {"collection": str(c.name)},
                       float(await c.count_documents({"outbox": {"$elemMatch": UNPUBLISHED}})))
                for c in collections()]

    return backlog


def counts_source(name: str, help_text: str, collection: Callable[[], Any],
                  filters: Sequence[tuple[dict[str, str], dict[str, Any]]]) -> Source:
    """One gauge per (labels, filter): `count_documents` on indexed equality filters, a handful per scrape."""

    async def count() -> list[Sample]:
        target = collection()
        return [Sample(name, help_text, labels, float(await target.count_documents(query)))
                for labels, query in filters]

    return count


# --- exposition ---------------------------------------------------------------------------------
def authorized(request_headers: Any, token: str | None) -> bool:
    """With METRICS_TOKEN set, /metrics needs `Authorization: Bearer <token>`."""
    if not token:
        return True
    given = str(request_headers.get("authorization") or "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_route(gauges: ScrapeGauges, *, production: bool) -> Callable[[Request], Awaitable[Response]]:
    """The `/metrics` endpoint: 404 in production without METRICS_TOKEN, 401 without the token."""
    token = os.environ.get("METRICS_TOKEN") or None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(gauges)

    async def endpoint(request: Request) -> Response:
        if production and token is None:
            return Response(b'{"errors":[{"message":"Not found"}]}', 404, media_type="application/json")
        if not authorized(request.headers, token):
            return Response(b'{"errors":[{"message":"metrics need the bearer token"}]}', 401,
                            media_type="application/json")
        await gauges.refresh()
        body = generate_latest(REGISTRY) + generate_latest(registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return endpoint


def serve_worker_metrics() -> int | None:
    """Serve REGISTRY on WORKER_METRICS_HOST:WORKER_METRICS_PORT (default loopback); the port or None."""
    raw = os.environ.get("WORKER_METRICS_PORT")
    if not raw:
        return None
    from prometheus_client import start_http_server

    host = os.environ.get("WORKER_METRICS_HOST", "127.0.0.1")
    server, _ = start_http_server(int(raw), addr=host, registry=REGISTRY)
    port = int(server.server_address[1])
    log.info("worker metrics on http://%s:%d/metrics", host, port)
    return port
