"""The log line format shared by the gateway and the services: JSON lines or readable lines, with the
service name, the request id and the trace id in every line.

uvicorn's loggers are mapped (`uvicorn.error` is named `uvicorn`; its access log is off, since the
gateway and the kit each write their own access line), uvicorn's ANSI `color_message` never reaches a
line, and the internal HTTP clients (httpx, httpcore, aiohttp) log only at DEBUG."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterable

import orjson

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
# The internal HTTP clients: their INFO lines (one per call) only show at DEBUG.
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp.access", "aiohttp.client", "aiohttp.internal")
_RENAMED = {"uvicorn.error": "uvicorn"}
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def trace_id_from(traceparent: str | None) -> str | None:
    """The trace id of a W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex>`); None when absent or invalid."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match["trace"] == "0" * 32:
        return None
    return match["trace"]


class ContextFilter(logging.Filter):
    """Adds `service`, `request_id` and `trace_id` to every record; names uvicorn's loggers plainly."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.trace_id = trace_id_var.get()
        record.name = _RENAMED.get(record.name, record.name)
        record.__dict__.pop("color_message", None)  # uvicorn's ANSI copy of the message
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": getattr(record, "service", "-"),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class ReadableFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)-5s %(service)s %(name)s [%(request_id)s] %(message)s", "%H:%M:%S"
        )


def configure_root(service: str, level: str, json_lines: bool, propagating: Iterable[str] = ()) -> logging.Logger:
    """One handler on stderr for `service` (a later call replaces it); `propagating` loggers lose their
    own handlers and go through it, like uvicorn's. Returns the root logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ReadableFormatter())
    handler.addFilter(ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", *propagating):  # uvicorn.run(log_config=None) leaves them be
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")  # replaced by our own access line
    access.handlers[:] = []
    access.disabled = True
    debug = root.isEnabledFor(logging.DEBUG)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    return root
