"""The sampler: `OTEL_TRACES_SAMPLER`/`_ARG` as the SDK reads them, minus orphan client spans.

Background loops (the event consumers' XREADGROUP, the outbox relay's polls, arq's poll loop) issue
Redis and MongoDB commands outside any request: the instrumentations would make each one a trace of
its own. A CLIENT span without a parent is therefore dropped; within a trace nothing changes."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import sampling
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes


class NoOrphanClientSpans(sampling.Sampler):
    def __init__(self, base: sampling.Sampler) -> None:
        self._base = base

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> sampling.SamplingResult:
        if kind is SpanKind.CLIENT and not trace.get_current_span(parent_context).get_span_context().is_valid:
            return sampling.SamplingResult(sampling.Decision.DROP)
        return self._base.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"NoOrphanClientSpans{{{self._base.get_description()}}}"


def no_orphan_clients() -> sampling.Sampler:
    return NoOrphanClientSpans(sampling._get_from_env_or_default())
