"""Tracing on inside the test process, exporting to memory: for the in-process services of a test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from subgraphs.kit import tracing as kit_tracing
from telemetry import tracing


@contextmanager
def spans_in_memory() -> Iterator[InMemorySpanExporter]:
    """Tracing on (as `telemetry.tracing.configure` would turn it on) with the finished spans in memory.

    The global tracer provider can be set once per process: a later use adds its exporter to the same
    provider, and an exporter stops recording when its block ends."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    saved, instrumented = list(tracing._configured), list(kit_tracing._instrumented)
    tracing._configured[:] = [True]
    kit_tracing._instrumented[:] = [True]  # no global pymongo/redis/httpx patching left behind in this process
    try:
        yield exporter
    finally:
        tracing._configured[:] = saved
        kit_tracing._instrumented[:] = instrumented
        exporter.shutdown()


def named(exporter: InMemorySpanExporter, name: str, trace_id: int) -> list[ReadableSpan]:
    """The finished spans called `name` in the trace `trace_id`."""
    return [span for span in exporter.get_finished_spans()
            if span.name == name and span.context is not None and span.context.trace_id == trace_id]
