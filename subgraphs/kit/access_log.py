"""One access line per HTTP request (uvicorn's own access log is off): method, path, GraphQL operation
name, status, duration, request id and trace id (from the W3C `traceparent` header when present).

Probe and scrape paths (/health, /ready, /metrics) log at DEBUG: a kubelet or Prometheus would
otherwise print several lines a minute from an idle service."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry.logs import request_id_var, trace_id_from, trace_id_var

log = logging.getLogger("access")

QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})
# The body prefix kept to read `operationName` from (it is near the start in every client we know).
BODY_PEEK_BYTES = 64 * 1024




def operation_name(method: str, query_string: bytes, body: bytes) -> str:
    """`operationName` of a GraphQL request (GET parameters or a JSON body prefix); `-` when unknown."""
    if method == "GET":
        name = dict(parse_qsl(query_string.decode("latin-1"))).get("operationName")
        return name or "-"
    if not body:
        return "-"
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "-"
    name = payload.get("operationName") if isinstance(payload, dict) else None
    return name if isinstance(name, str) and name else "-"


class AccessLogMiddleware:
    """Logs each HTTP request once it is answered (inside the request-id middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        trace_id = trace_id_from(headers.get(b"traceparent", b"").decode("latin-1"))
        token = trace_id_var.set(trace_id) if trace_id else None
        body = bytearray()
        status = 500

        async def peeking_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < BODY_PEEK_BYTES:
                body.extend(message.get("body", b"")[: BODY_PEEK_BYTES - len(body)])
            return message

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, peeking_receive, status_send)
        finally:
            method, path = scope["method"], scope["path"]
            write_access_line(method, path, operation_name(method, scope.get("query_string", b""), bytes(body)),
                              status, started)
            if token is not None:
                trace_id_var.reset(token)


def write_access_line(method: str, path: str, operation: str, status: int, started: float) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    level = logging.DEBUG if path in QUIET_PATHS and status < 500 else logging.INFO
    log.log(level, "%s %s %s %d %.1fms", method, path, operation, status, duration_ms,
            extra={"method": method, "path": path, "operation": operation, "status": status,
                   "duration_ms": duration_ms, "request_id": request_id_var.get(), "trace_id": trace_id_var.get()})
