"""The event envelope `{id, type, occurred_at, source, subject, data, trace_id}`, JSON on the wire."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from subgraphs.kit.logs import trace_id_var


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=_now)
    trace_id: str = field(default_factory=lambda: trace_id_var.get() if trace_id_var.get() != "-" else uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        raw = orjson.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("event must be a JSON object")
        return cls.from_dict(raw)
