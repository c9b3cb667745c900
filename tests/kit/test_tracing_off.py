"""Tracing off (no OTEL_* endpoint): nothing configured, envelopes and jobs carry no context, and
envelopes with or without a `traceparent` read back unchanged."""

from __future__ import annotations

from subgraphs.kit import tracing as kit_tracing
from subgraphs.kit.events.envelope import Event
from telemetry import tracing

TRACEPARENT = "00-867c0f2b5a3c4d9e8f1a2b3c4d5e6f70-1a2b3c4d5e6f7081-01"


def test_only_an_otlp_endpoint_turns_tracing_on() -> None:
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"})


def test_off_nothing_is_carried() -> None:
    assert not tracing.enabled()
    assert tracing.carrier() == {}
    assert kit_tracing.traced_spec({"amount": 1}) == {"amount": 1}
    event = Event(type="order.created", source="orders", subject="order:1", data={})
    assert event.traceparent == ""
    assert "traceparent" not in event.to_dict()
    assert len(event.trace_id) == 32


def test_an_envelope_without_traceparent_reads_back_without_context() -> None:
    old = {"id": "e1", "type": "order.created", "source": "orders", "subject": "order:1", "data": {},
           "trace_id": "t1"}
    event = Event.from_dict(old)
    assert event.traceparent == "" and event.trace_carrier() == {}
    assert event.to_dict() == {**old, "occurred_at": event.occurred_at}


def test_an_envelope_keeps_its_traceparent() -> None:
    event = Event(type="order.created", source="orders", subject="order:1", data={}, traceparent=TRACEPARENT)
    again = Event.from_json(event.to_json())
    assert again.traceparent == TRACEPARENT
    assert again.trace_carrier() == {"traceparent": TRACEPARENT}
