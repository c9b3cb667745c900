"""The log line format shared by the gateway and the services: JSON lines or readable lines, with the
service name, the request id and the trace id in every line.

uvicorn's loggers are mapped (`uvicorn.error` is named `uvicorn`; its access log is off, since the
gateway and the kit each write their own access line), uvicorn's ANSI `color_message` never reaches a
line, and the internal HTTP clients (httpx, httpcore, aiohttp) log only at DEBUG."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import TextIO

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


FLUSH_SECONDS = 0.1  # how long a DirectLine holds lines on an event loop
FLUSH_BYTES = 64 * 1024  # ... unless it holds this much


class LineHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_root` installs: before a record is written, or the stream flushed (at
    exit too), the DirectLine's held lines go out, so lines keep their order."""

    direct: DirectLine | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.direct is not None:
            self.direct.flush()
        super().emit(record)

    def flush(self) -> None:
        if self.direct is not None:
            self.direct.flush()
        super().flush()


class DirectLine:
    """Writes the line the handler `configure_root` installed would write for a plain record (no
    exception, no stack), without a LogRecord, the logger chain or a `strftime` per line: for the
    gateway's access line, one per request. `direct_line` says when it may stand in for the logger.

    On an event loop the lines are held for up to `FLUSH_SECONDS` (or until `FLUSH_BYTES` are held),
    then written at once. A loaded gateway answers many requests in that time, so this saves a write per
    request; a lightly loaded one would otherwise write once per request, and a write to a file can
    block the loop for milliseconds (an ext4 journal commit), which is the tail latency of every
    request in flight."""

    def __init__(self, handler: logging.StreamHandler[TextIO], context: ContextFilter, json_lines: bool) -> None:
        self.handler, self.context, self.json_lines = handler, context, json_lines
        self.formatter = handler.formatter
        self._second = -1
        self._prefix = ""  # the timestamp up to the second, formatted once a second
        self._held: list[str] = []
        self._held_bytes = 0
        self._flush_on: asyncio.AbstractEventLoop | None = None  # the loop a flush is scheduled on

    def line(self, levelno: int, name: str, message: str, fields: dict[str, object], created: float) -> str:
        """What the handler's formatter gives a record of `name` at `levelno` with `fields` as its extra."""
        second = int(created)
        if second != self._second:
            self._second = second
            self._prefix = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) if self.json_lines
                            else time.strftime("%H:%M:%S", time.localtime(created)))
        name = _RENAMED.get(name, name)
        levelname = logging.getLevelName(levelno)
        if not self.json_lines:
            return f"{self._prefix} {levelname:<5} {self.context.service} {name} [{request_id_var.get()}] {message}"
        entry: dict[str, object] = {
            "ts": f"{self._prefix}.{int((created - second) * 1000):03d}Z",  # LogRecord.msecs
            "level": levelname.lower(), "service": self.context.service, "logger": name, "msg": message,
        }
        for key, value in fields.items():
            if key not in entry:
                entry[key] = value
        entry["request_id"] = request_id_var.get()  # as ContextFilter sets them on the record
        entry["trace_id"] = trace_id_var.get()
        return orjson.dumps(entry, default=str).decode()

    def write(self, levelno: int, name: str, message: str, fields: dict[str, object]) -> None:
        handler = self.handler
        try:
            text = self.line(levelno, name, message, fields, time.time()) + handler.terminator
        except Exception:  # as StreamHandler.emit: report, never raise into the request
            handler.handleError(logging.makeLogRecord({"name": name, "levelno": levelno, "msg": message}))
            return
        pending = self._flush_on
        if pending is not None and not pending.is_closed():
            # a flush is already due on the loop: the line joins it (asyncio.get_running_loop costs a
            # getpid syscall, 1% of a small request's CPU)
            with handler.lock:  # type: ignore[union-attr]
                self._held.append(text)
                self._held_bytes += len(text)
            if self._held_bytes >= FLUSH_BYTES:
                self.flush()  # the timer due finds nothing, or the lines held after this
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: at once
            self._write(text)
            return
        with handler.lock:  # type: ignore[union-attr]
            self._held.append(text)
            self._held_bytes += len(text)
        self._flush_on = loop
        loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write the lines held so far, in one write."""
        self._flush_on = None
        with self.handler.lock:  # type: ignore[union-attr]
            if not self._held:
                return
            text = "".join(self._held)
            self._held.clear()
            self._held_bytes = 0
            self._write(text)

    def _write(self, text: str) -> None:
        handler = self.handler
        try:
            with handler.lock:  # type: ignore[union-attr]
                handler.stream.write(text)
                handler.stream.flush()
        except Exception:
            handler.handleError(logging.makeLogRecord({"name": "telemetry.logs", "msg": text[:200]}))


_direct: DirectLine | None = None


def direct_line(logger: logging.Logger, levelno: int) -> DirectLine | None:
    """The DirectLine when a record of `logger` at `levelno` would reach `configure_root`'s handler, and
    only it, unchanged: no other handler or filter on the way (a test's log capture, say), nothing
    reconfigured since. None otherwise (or when the level is off): then log through `logger`."""
    direct = _direct
    if direct is None or not logger.isEnabledFor(levelno):
        return None
    root = logging.root
    handlers = root.handlers
    handler = direct.handler
    if len(handlers) != 1 or handlers[0] is not handler or root.filters or levelno < handler.level \
            or handler.formatter is not direct.formatter or len(handler.filters) != 1 \
            or handler.filters[0] is not direct.context:
        return None
    node: logging.Logger | None = logger
    while node is not None and node is not root:
        if node.handlers or node.filters or node.disabled or not node.propagate:
            return None
        node = node.parent
    return direct


def configure_root(service: str, level: str, json_lines: bool, propagating: Iterable[str] = ()) -> logging.Logger:
    """One handler on stderr for `service` (a later call replaces it); `propagating` loggers lose their
    own handlers and go through it, like uvicorn's. Returns the root logger."""
    global _direct
    if _direct is not None:  # lines held for the handler being replaced
        _direct.flush()
    handler = LineHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ReadableFormatter())
    context = ContextFilter(service)
    handler.addFilter(context)
    _direct = handler.direct = DirectLine(handler, context, json_lines)
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
