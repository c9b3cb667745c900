"""A small reader for incremental delivery: POST a request accepting `multipart/mixed`, read the parts
as they arrive (each with its arrival time), and merge them into the complete result."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

MULTIPART_ACCEPT = "multipart/mixed; deferSpec=20220824, application/json"


@dataclass
class Part:
    payload: dict[str, Any]
    at: float  # seconds after the request was sent


@dataclass
class Stream:
    status: int
    content_type: str
    parts: list[Part]
    raw: bytes

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [p.payload for p in self.parts]

    def merged(self) -> dict[str, Any]:
        """The complete result the parts add up to (what a client cache would hold)."""
        first = self.parts[0].payload
        data = json.loads(json.dumps(first.get("data")))
        errors = list(first.get("errors", []))
        for part in self.parts[1:]:
            for item in part.payload.get("incremental", []):
                errors.extend(item.get("errors", []))
                target = data
                for step in item["path"]:
                    target = target[step]
                if item.get("data") is not None:
                    _merge(target, item["data"])
            errors.extend(part.payload.get("errors", []))
        out: dict[str, Any] = {"data": data}
        if errors:
            out["errors"] = errors
        return out


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(target.get(key), dict) and isinstance(value, dict):
            _merge(target[key], value)
        elif isinstance(target.get(key), list) and isinstance(value, list):
            for current, item in zip(target[key], value, strict=True):
                if isinstance(current, dict) and isinstance(item, dict):
                    _merge(current, item)
        else:
            target[key] = value


def read_stream(
    http: httpx.Client,
    body: Mapping[str, Any],
    accept: str = MULTIPART_ACCEPT,
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
) -> Stream:
    """Send `body` (as query parameters for a GET); a JSON answer becomes one part (with
    `hasNext: false` when it has none)."""
    started = time.monotonic()
    parts: list[Part] = []
    raw = b""
    request: dict[str, Any] = {"headers": {"accept": accept, **(headers or {})}}
    if method == "GET":
        request["params"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    else:
        request["json"] = dict(body)
    with http.stream(method, "/graphql", **request) as response:
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("multipart/mixed"):
            raw = response.read()
            payload = json.loads(raw)
            parts.append(Part({**payload, "hasNext": payload.get("hasNext", False)}, time.monotonic() - started))
            return Stream(response.status_code, content_type, parts, raw)
        buffer = b""
        for chunk in response.iter_bytes():
            raw += chunk
            buffer += chunk
            buffer = _take_parts(buffer, parts, started)
        assert not buffer.strip(b"\r\n-"), f"unterminated multipart body: {buffer!r}"
        return Stream(response.status_code, content_type, parts, raw)


def _take_parts(buffer: bytes, parts: list[Part], started: float) -> bytes:
    if buffer.startswith(b"\r\n---\r\n"):
        buffer = buffer[len(b"\r\n---\r\n") :]
    while True:
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return buffer
        body_end = buffer.find(b"\r\n---", head_end + 4)
        if body_end < 0 or len(buffer) < body_end + 7:
            return buffer
        payload = json.loads(buffer[head_end + 4 : body_end])
        parts.append(Part(payload, time.monotonic() - started))
        rest = buffer[body_end + 5 :]
        buffer = rest[2:] if rest.startswith(b"\r\n") else rest[4:]  # "\r\n" more, "--\r\n" the end
