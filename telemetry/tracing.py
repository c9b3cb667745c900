"""OpenTelemetry tracing from the standard `OTEL_*` variables, shared by the gateway and the services.

Tracing is on only when an OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and `OTEL_SDK_DISABLED` is not true. Off, nothing is installed
or instrumented: the API's no-op tracer answers, and the carriers below are empty.

The SDK reads the rest itself: `OTEL_SERVICE_NAME` (else the process's own name),
`OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` (default: parent-based always-on),
`OTEL_EXPORTER_OTLP_*` (protocol http/protobuf), `OTEL_BSP_*` (the batch processor).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_configured: list[bool] = []  # [enabled] once configure() ran in this process


def wanted(env: Mapping[str, str] | None = None) -> bool:
    """True when the environment asks for tracing (an OTLP endpoint, the SDK not disabled)."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(env.get(name, "").strip() for name in _ENDPOINTS)


def enabled() -> bool:
    """True once configure() installed an SDK tracer provider in this process."""
    return bool(_configured and _configured[0])


def configure(default_service: str) -> bool:
    """Install the SDK tracer provider with an OTLP/HTTP batch exporter, once per process.

    Returns whether tracing is on. Off (the default), nothing is imported beyond the API."""
    if _configured:
        return _configured[0]
    if not wanted():
        _configured.append(False)
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from telemetry.sampling import no_orphan_clients

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: default_service}
    provider = TracerProvider(resource=Resource.create(attributes), sampler=no_orphan_clients())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured.append(True)
    log.info("tracing on: OTLP export as %s", provider.resource.attributes.get(SERVICE_NAME))
    return True


def flush(timeout_millis: int = 5000) -> None:
    """Export what is buffered (at shutdown; the SDK also flushes at interpreter exit)."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush(timeout_millis)


def carrier() -> dict[str, str]:
    """The current W3C trace context (`traceparent`, `tracestate`) to carry across a hop; {} without one."""
    if not enabled():
        return {}
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def context_from(headers: Mapping[str, object] | None) -> otel_context.Context | None:
    """The trace context a carrier names (None: nothing valid to continue, e.g. an old envelope)."""
    if not headers or not enabled():
        return None
    clean = {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}
    if TRACEPARENT not in clean:
        return None
    extracted = propagate.extract(clean)
    if not trace.get_current_span(extracted).get_span_context().is_valid:
        return None
    return extracted


def current_trace_id() -> str | None:
    """The 32-hex W3C trace id of the current span, None outside a (sampled or not) span."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else None


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)
