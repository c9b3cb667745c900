"""Tracing of the gateway: a SERVER span per HTTP request (continuing a client's W3C `traceparent`),
a CLIENT span per subgraph fetch (propagating it), and for subscriptions a span per event's
completion linked to the span of the subscribe.

Set-up and propagation are `telemetry.tracing` (shared with the services); off unless `OTEL_*` asks,
and then nothing here wraps anything. On, the spans are written here rather than by OpenTelemetry's
ASGI and aiohttp instrumentations, which collect attributes, wrap every ASGI message and build a
child span per fetch whether the trace is sampled or not (about 45 µs a request and 85 µs a fetch,
docs/observability.md#cost). Here an unsampled request costs the sampler's decision and a context
switch, and an unsampled fetch only its `traceparent` header, so the next hop follows the decision.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode

from telemetry import tracing

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

UNTRACED_PATHS = frozenset({"/health", "/ready", "/metrics"})
_tracer = tracing.tracer("gateway")


def configure() -> bool:
    return tracing.configure("gateway")


def instrument_http(app: Any) -> Any:
    """The core HTTP app behind the server-span layer (unchanged when tracing is off)."""
    return ServerSpans(app) if tracing.enabled() else app


class ServerSpans:
    """A SERVER span per HTTP request, a child of the client's `traceparent` when it sent one."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:  # `.gateway`, `.ready`... of the wrapped app stay reachable
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
                   if key == b"traceparent" or key == b"tracestate"}
        parent = tracing.context_from(carrier) if carrier else None
        method, path = scope["method"], scope["path"]
        span = _tracer.start_span(f"{method} {path}", context=parent, kind=SpanKind.SERVER)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            if not span.is_recording():  # not sampled: only the decision travels on, in the context
                await self.app(scope, receive, send)
                return
            await self._recorded(span, scope, receive, send)
        finally:
            otel_context.detach(token)

    async def _recorded(self, span: trace.Span, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        span.set_attributes({"http.request.method": scope["method"], "url.path": scope["path"],
                             "url.scheme": scope.get("scheme", "http"),
                             "network.protocol.version": scope.get("http_version", "1.1"),
                             **({"client.address": str(client[0])} if client else {})})
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException as exc:
            span.record_exception(exc)
            raise
        finally:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()


def note_operation(name: str | None, kind: str) -> None:
    """Name the request's span after its GraphQL operation, once known (sampled requests only)."""
    if not tracing.enabled():
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("graphql.operation.type", kind)
        if name:
            span.set_attribute("graphql.operation.name", name)
        span.update_name(f"{kind} {name}" if name else kind)


@contextlib.contextmanager
def fetching(service: str, url: str, headers: dict[str, str]) -> Iterator[None]:
    """Around one subgraph fetch: a CLIENT span when the request is sampled, and in any case the
    W3C context in `headers`, so the subgraph continues (or, unsampled, skips) the same trace."""
    if not tracing.enabled():
        yield
        return
    current = trace.get_current_span()
    if not current.is_recording():
        _inject_unsampled(current.get_span_context(), headers)
        yield
        return
    with _tracer.start_as_current_span(f"POST {service}", kind=SpanKind.CLIENT,
                                       attributes={"http.request.method": "POST", "url.full": url,
                                                   "graphql.subgraph": service}):
        propagate.inject(headers)
        yield


def note_fetch_status(status: int) -> None:
    """The subgraph's HTTP status on the current fetch's span (sampled fetches only)."""
    if not tracing.enabled():
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_status(Status(StatusCode.ERROR))


def _inject_unsampled(context: SpanContext, headers: dict[str, str]) -> None:
    if not context.is_valid:
        return
    headers["traceparent"] = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    if context.trace_state:
        headers["tracestate"] = context.trace_state.to_header()
    else:
        headers.pop("tracestate", None)


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
    """A span for one subscription event's entity fetches, linked to the subscription's span (of the
    client that reached the event first, when several share its completion)."""
    if subscription is None:
        yield
        return
    # A trace of its own: the event is caused upstream, not by the (long past) subscribe request.
    with _tracer.start_as_current_span(f"subscription event {operation or ''}".rstrip(),
                                       context=trace.set_span_in_context(trace.INVALID_SPAN),
                                       kind=SpanKind.INTERNAL, links=[Link(subscription)]):
        yield
