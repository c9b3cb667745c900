"""Tracing of the gateway: a server span per HTTP request (continuing a client's W3C `traceparent`),
a client span per subgraph fetch (propagating it), and for subscriptions a span per event's
completion linked to the span of the subscribe.

Set-up and propagation are `telemetry.tracing` (shared with the services); off unless `OTEL_*` asks,
and then nothing here wraps or instruments anything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext, SpanKind

from telemetry import tracing

_tracer = tracing.tracer("gateway")


def configure() -> bool:
    return tracing.configure("gateway")


def instrument_http(app: Any) -> Any:
    """The core HTTP app behind OpenTelemetry's ASGI middleware (unchanged when tracing is off)."""
    if not tracing.enabled():
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(app, excluded_urls="/health,/ready",
                                   exclude_spans=["receive", "send"])  # per-message spans: cost, no insight


def client_trace_configs() -> list[Any]:
    """aiohttp trace configs for the subgraph session: a CLIENT span per fetch, `traceparent` injected."""
    if not tracing.enabled():
        return []
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    return [create_trace_config()]


def subscribed(operation: str | None, headers: Mapping[str, str]) -> SpanContext | None:
    """Record a subscription's start as a span (a child of the client's `traceparent`, if any);
    its context is what every event's completion links to."""
    if not tracing.enabled():
        return None
    parent = tracing.context_from(headers)
    with _tracer.start_as_current_span(f"subscribe {operation or 'subscription'}", context=parent,
                                       kind=SpanKind.SERVER) as span:
        return span.get_span_context()


@contextlib.contextmanager
def completing_event(operation: str | None, subscription: SpanContext | None) -> Iterator[None]:
    """A span for one subscription event's entity fetches, linked to the subscription's span."""
    if subscription is None:
        yield
        return
    # A trace of its own: the event is caused upstream, not by the (long past) subscribe request.
    with _tracer.start_as_current_span(f"subscription event {operation or ''}".rstrip(),
                                       context=trace.set_span_in_context(trace.INVALID_SPAN),
                                       kind=SpanKind.INTERNAL, links=[Link(subscription)]):
        yield
