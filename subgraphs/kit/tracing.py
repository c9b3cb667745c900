"""Tracing of a service: its HTTP requests, its MongoDB, Redis and HTTP client calls, the events it
handles and the arq jobs it runs, each continuing the W3C trace context that came with them.

Set-up and propagation are `telemetry.tracing` (shared with the gateway); off unless `OTEL_*` asks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp

from telemetry import tracing

TRACE_FIELD = "trace"  # the job spec's key (and the old job keyword) carrying the trace context
# The W3C carrier stored on the document a job works on, written when the document is created: a job's
# arguments never change for tracing (a worker of an older release would refuse a new keyword), and a job
# re-queued by a sweep long after the request still continues the request's trace.
CONTEXT_FIELD = "trace_context"
log = logging.getLogger(__name__)
_instrumented: list[bool] = []
_tracer = tracing.tracer("subgraphs.kit")


def configure(service: str) -> bool:
    """Turn tracing on for this process when the environment asks (idempotent)."""
    if not tracing.configure(service):
        return False
    if not _instrumented:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        PymongoInstrumentor().instrument()
        RedisInstrumentor().instrument()
        HTTPXClientInstrumentor().instrument()
        _instrumented.append(True)
    return True


def instrument_app(app: ASGIApp) -> ASGIApp:
    """The ASGI app behind OpenTelemetry's middleware (which continues a request's `traceparent`)."""
    if not tracing.enabled():
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app, excluded_urls="/health,/ready,/events/stats",
                                   exclude_spans=["receive", "send"])  # per-message spans: cost, no insight


@contextlib.contextmanager
def consuming(event_type: str, event_id: str, source: str, carrier: Mapping[str, Any] | None) -> Iterator[None]:
    """A CONSUMER span for handling an event, a child of the context its envelope carried."""
    if not tracing.enabled():
        yield
        return
    parent = tracing.context_from(carrier)
    attributes = {"messaging.system": "redis", "messaging.operation.type": "process",
                  "messaging.destination.name": event_type, "messaging.message.id": event_id,
                  "event.source": source}
    with _tracer.start_as_current_span(f"process {event_type}", context=parent, kind=SpanKind.CONSUMER,
                                       attributes=attributes):
        yield


def traced_spec(spec: dict[str, Any], document: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`spec` with a trace context under TRACE_FIELD: the current one, else the one stored on `document`
    (a sweep outside any request); unchanged when there is none. Older workers ignore the field."""
    carried = tracing.carrier() or (stored_context(document) if tracing.enabled() else None)
    return {**spec, TRACE_FIELD: carried} if carried else spec


def with_context(document: dict[str, Any]) -> dict[str, Any]:
    """`document` (a new one, about to be inserted) with the current trace context under CONTEXT_FIELD."""
    carried = tracing.carrier()
    if carried:
        document[CONTEXT_FIELD] = carried
    return document


def stored_context(document: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The trace context stored on a document (None: none, or written before it existed)."""
    carried = document.get(CONTEXT_FIELD) if document else None
    return dict(carried) if isinstance(carried, Mapping) and carried else None


async def context_of(collection: Any, document_id: Any) -> dict[str, str] | None:
    """The trace context stored on the document `document_id` of a (motor or pymongo async) collection.

    One indexed read, only when tracing is on (off, None at once). A read that fails is logged and the
    job runs in a new trace: tracing never fails a job."""
    if not tracing.enabled():
        return None
    try:
        document = await collection.find_one({"_id": document_id}, {CONTEXT_FIELD: 1})
    except Exception as exc:  # the job's own reads report the outage; tracing must not fail it first
        log.warning("no trace context for %s: %s", document_id, exc)
        return None
    return stored_context(document)

@contextlib.contextmanager
def running_job(name: str, carrier: Mapping[str, Any] | None, job_try: int = 1) -> Iterator[None]:
    """A CONSUMER span for an arq job, a child of the context it was enqueued with (a root without one)."""
    if not tracing.enabled():
        yield
        return
    parent = tracing.context_from(carrier if isinstance(carrier, Mapping) else None)
    with _tracer.start_as_current_span(f"job {name}", context=parent, kind=SpanKind.CONSUMER,
                                       attributes={"messaging.system": "arq", "job.try": job_try}):
        yield

