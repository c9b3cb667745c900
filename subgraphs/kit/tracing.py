"""Tracing of a service: its HTTP requests, its MongoDB, Redis and HTTP client calls, the events it
handles and the arq jobs it runs, each continuing the W3C trace context that came with them.

Set-up and propagation are `telemetry.tracing` (shared with the gateway); off unless `OTEL_*` asks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp

from telemetry import tracing

TRACE_FIELD = "trace"  # the job spec's key (and job keyword) carrying the trace context
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


def job_carrier() -> dict[str, str]:
    """The current trace context to put into an arq job's spec or keywords ({} when tracing is off)."""
    return tracing.carrier()


def traced_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with the current trace context under TRACE_FIELD (unchanged when there is none)."""
    carried = tracing.carrier()
    return {**spec, TRACE_FIELD: carried} if carried else spec


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

