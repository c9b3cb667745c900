"""One access line per HTTP request at the gateway: method, path, operation name, status, duration,
request id and trace id (the W3C `traceparent`'s, when the client sent one). Probe and scrape paths
log at DEBUG."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from telemetry.logs import direct_line, request_id_var, trace_id_var

log = logging.getLogger("gateway.access")

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})
# What the request handler learns on the way (the operation name); the access line reads it at the end.
_fields: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("gateway_access", default=None)




def note_operation(name: str | None) -> None:
    """Called once the request's operation name is known."""
    fields = _fields.get()
    if fields is not None and name:
        fields["operation"] = name


class AccessRecord:
    """The state of one request's access line: `start()`, wrap `send`, `finish()` in a finally."""

    def __init__(self, method: str, path: str) -> None:
        self.method, self.path = method, path
        self.status = 500
        self.started = time.perf_counter()
        self.fields: dict[str, str] = {"operation": "-"}
        self._token = _fields.set(self.fields)

    def wrap(self, send: Send) -> Send:
        def wrapped(message: Message) -> Awaitable[None]:  # not async: the caller awaits send's own coroutine
            if message["type"] == "http.response.start":
                self.status = int(message["status"])
            return send(message)

        return wrapped

    def finish(self) -> None:
        _fields.reset(self._token)
        duration_ms = round((time.perf_counter() - self.started) * 1000, 2)
        operation = self.fields["operation"]
        level = logging.DEBUG if self.path in QUIET_PATHS and self.status < 500 else logging.INFO
        fields: dict[str, object] = {
            "method": self.method, "path": self.path, "operation": operation, "status": self.status,
            "duration_ms": duration_ms, "request_id": request_id_var.get(), "trace_id": trace_id_var.get(),
        }
        direct = direct_line(log, level)  # the same line, without logging's per-record machinery
        if direct is not None:
            message = f"{self.method} {self.path} {operation} {self.status:d} {duration_ms:.1f}ms"
            direct.write(level, log.name, message, fields)
        else:  # a capture or another handler is listening: a real record
            log.log(level, "%s %s %s %d %.1fms", self.method, self.path, operation, self.status, duration_ms,
                    extra=fields)
