"""The gateway's logging (it imports nothing from subgraphs/, so this mirrors subgraphs.kit.logs):
JSON lines with LOG_JSON=1, readable lines otherwise; the service name, the request id and the trace id
in every line; uvicorn's `uvicorn.error` named `uvicorn`, its ANSI `color_message` dropped and its
access log off (gateway.access writes one line per request); httpx/httpcore/aiohttp at DEBUG."""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import time

import orjson

SERVICE = "gateway"
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("gateway_request_id", default="-")
trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("gateway_trace_id", default="-")

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp.access", "aiohttp.client", "aiohttp.internal")
_RENAMED = {"uvicorn.error": "uvicorn"}


class ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.trace_id = trace_id_var.get()
        record.name = _RENAMED.get(record.name, record.name)
        record.__dict__.pop("color_message", None)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": getattr(record, "service", SERVICE),
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
        super().__init__("%(asctime)s %(levelname)-5s %(service)s %(name)s [%(request_id)s] %(message)s", "%H:%M:%S")


def configure_logging(level: str = "INFO", json_lines: bool = False, service: str = SERVICE) -> None:
    """Root handler on stderr; idempotent (a later call replaces the handler)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ReadableFormatter())
    handler.addFilter(ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "gateway.startup"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.disabled = True
    debug = root.isEnabledFor(logging.DEBUG)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)


def configure_from_env(level: str | None = None) -> None:
    """LOG_LEVEL (or `level`) and LOG_JSON from the environment."""
    json_lines = os.environ.get("LOG_JSON", "").strip().lower() in {"1", "true", "yes", "on"}
    configure_logging(level or os.environ.get("LOG_LEVEL", "INFO"), json_lines)
