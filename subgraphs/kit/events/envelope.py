"""The event envelope `{id, type, occurred_at, source, subject, data, trace_id, traceparent}`, JSON on the wire.

`traceparent` is the W3C trace context of the code that made the event (absent when tracing is off, and
in envelopes written before it existed); `trace_id` is that context's trace id, else the log's trace id
or a random one."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from subgraphs.kit.logs import trace_id_var
from telemetry import tracing


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _trace_id() -> str:
    current = tracing.current_trace_id()
    if current is not None:
        return current
    logged = trace_id_var.get()
    return logged if logged != "-" else uuid.uuid4().hex


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=_now)
    trace_id: str = field(default_factory=lambda: _trace_id())
    traceparent: str = field(default_factory=lambda: tracing.carrier().get(tracing.TRACEPARENT, ""))

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        if not self.traceparent:
            del raw["traceparent"]
        return raw

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        missing = {"id", "type", "source", "subject", "data"} - raw.keys()
        if missing:
            raise ValueError(f"event is missing {sorted(missing)}")
        if not isinstance(raw["data"], dict):
            raise ValueError("event data must be an object")
        return cls(
            id=str(raw["id"]),
            type=str(raw["type"]),
            source=str(raw["source"]),
            subject=str(raw["subject"]),
            data=raw["data"],
            occurred_at=str(raw.get("occurred_at") or _now()),
            trace_id=str(raw.get("trace_id") or ""),
            traceparent=str(raw.get("traceparent") or ""),
        )

    def trace_carrier(self) -> dict[str, str]:
        """The W3C context to continue when handling this event ({} for an envelope without one)."""
        return {tracing.TRACEPARENT: self.traceparent} if self.traceparent else {}

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        raw = orjson.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("event must be a JSON object")
        return cls.from_dict(raw)
