"""The gateway's access line: one per request with method, path, operation, status, duration, request id
and trace id; the request id and the client's traceparent travel on to the subgraphs."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from gateway import logs
from telemetry.logs import FLUSH_BYTES, FLUSH_SECONDS, QUIET_LOGGERS, trace_id_from

from . import shop
from .harness import RunningServer, gateway_app, recording, serve

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[RunningServer, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    accounts = RunningServer(recording(shop.accounts(), seen)).start()
    try:
        with serve(gateway_app(shop.SUPERGRAPH, {"accounts": accounts.url})) as gw:
            yield gw, seen
    finally:
        accounts.stop()


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gateway.access"]


def test_one_access_line_per_request_and_the_ids_travel_on(
    upstream: tuple[RunningServer, list[dict[str, str]]], caplog: pytest.LogCaptureFixture
) -> None:
    gw, seen = upstream
    caplog.set_level(logging.INFO, logger="gateway.access")
    seen.clear()
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        ok = client.post("/graphql", json={"query": "query Me { me { id } }", "operationName": "Me"},
                         headers={"x-request-id": "client-7", "traceparent": TRACEPARENT})
        bad = client.post("/graphql", json={"query": "{ nope }"})
        missing = client.get("/nowhere")
        unnamed = client.post("/graphql", json={"query": "query Whoami { me { id } }"})
    assert ok.status_code == 200 and ok.json()["data"] == {"me": {"id": "1"}}
    assert bad.status_code == 400 and missing.status_code == 404 and unnamed.status_code == 200
    first, second, third, fourth = access_lines(caplog)
    assert (first.method, first.path, first.operation, first.status) == ("POST", "/graphql", "Me", 200)  # type: ignore[attr-defined]
    assert (first.request_id, first.trace_id) == ("client-7", TRACE)  # type: ignore[attr-defined]
    assert isinstance(first.duration_ms, float) and first.duration_ms > 0  # type: ignore[attr-defined]
    assert (second.status, second.operation, second.trace_id) == (400, "-", "-")  # type: ignore[attr-defined]
    assert second.request_id == bad.headers["x-request-id"]  # type: ignore[attr-defined]
    assert (third.path, third.status) == ("/nowhere", 404)  # type: ignore[attr-defined]
    assert fourth.operation == "Whoami"  # type: ignore[attr-defined]  # from the document
    assert len(seen) == 2 and seen[0]["x-request-id"] == "client-7" and seen[0]["traceparent"] == TRACEPARENT


def test_probes_log_at_debug(upstream: tuple[RunningServer, list[dict[str, str]]],
                             caplog: pytest.LogCaptureFixture) -> None:
    gw, _ = upstream
    caplog.set_level(logging.DEBUG, logger="gateway.access")
    with httpx.Client(base_url=gw.url, timeout=10) as client:
        assert client.get("/health").status_code == 200
    (line,) = access_lines(caplog)
    assert line.levelno == logging.DEBUG


def test_trace_ids_come_from_valid_traceparents_only() -> None:
    assert trace_id_from(TRACEPARENT) == TRACE
    assert trace_id_from("00-xyz") is None and trace_id_from(None) is None


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    access_disabled = logging.getLogger("uvicorn.access").disabled
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("uvicorn.access").disabled = access_disabled
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_name_the_gateway_and_carry_no_color_codes() -> None:
    logs.configure_logging("INFO", json_lines=True)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logging.getLogger("uvicorn.error").setLevel(logging.NOTSET)
    logging.getLogger("uvicorn.error").warning("Shutting down", extra={"color_message": "\x1b[31mShutting\x1b[0m"})
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "POST /graphql" 200')
    logging.getLogger("httpx").info("HTTP Request: POST http://products/graphql")
    text = stream.getvalue()
    assert "\x1b" not in text
    (entry,) = [orjson.loads(line) for line in text.splitlines()]
    assert (entry["service"], entry["logger"], entry["msg"]) == ("gateway", "uvicorn", "Shutting down")


def test_the_subgraph_access_line_names_the_operation_the_gateway_fetched(caplog: pytest.LogCaptureFixture) -> None:
    """The gateway sends each fetch's operation name (`<client operation>__<subgraph>__<id>`, the name in
    the planned document, as Apollo's router does) as `operationName`; the subgraph's line shows it."""
    from subgraphs.kit.access_log import AccessLogMiddleware

    caplog.set_level(logging.INFO, logger="access")
    accounts = RunningServer(AccessLogMiddleware(shop.accounts())).start()
    try:
        with serve(gateway_app(shop.SUPERGRAPH, {"accounts": accounts.url})) as gw, \
                httpx.Client(base_url=gw.url, timeout=10) as client:
            named = client.post("/graphql", json={"query": "query Me { me { id } }", "operationName": "Me"})
            unnamed = client.post("/graphql", json={"query": "{ me { id } }"})
    finally:
        accounts.stop()
    assert named.json() == unnamed.json() == {"data": {"me": {"id": "1"}}}  # the subgraph accepted the name
    lines = [r for r in caplog.records if r.name == "access"]
    assert [line.operation for line in lines] == ["Me__accounts__0", "-"]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("json_lines", [True, False])
def test_the_direct_access_line_is_the_line_the_handler_writes(json_lines: bool) -> None:
    """With only the configured handler listening, the access line skips logging's record machinery
    (telemetry.logs.DirectLine): the same text as the handler's formatter makes of the record."""
    from gateway.access_log import AccessRecord, log
    from telemetry.logs import direct_line, request_id_var, trace_id_var

    logs.configure_logging("INFO", json_lines=json_lines)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    direct = direct_line(log, logging.INFO)
    assert direct is not None and direct_line(log, logging.DEBUG) is None  # DEBUG is off at INFO
    tokens = request_id_var.set("req-9"), trace_id_var.set(TRACE)
    try:
        record = AccessRecord("POST", "/graphql")
        record.status = 201
        record.finish()
        fields: dict[str, object] = {"method": "GET", "path": "/graphql", "operation": "Me", "status": 200,
                                     "duration_ms": 12.34, "request_id": "req-9", "trace_id": TRACE}
        for created in (1_700_000_000.0, 1_700_000_000.9994, 1_700_000_001.5, 1_700_000_001.0):  # cached second
            real = log.makeRecord(log.name, logging.INFO, __file__, 1, "%s %s %s %d %.1fms",
                                  ("GET", "/graphql", "Me", 200, 12.34), None, extra=fields)
            real.created, real.msecs = created, int((created - int(created)) * 1000) + 0.0
            assert handler.filter(real)
            assert direct.line(logging.INFO, log.name, "GET /graphql Me 200 12.3ms", fields, created) \
                == handler.format(real)
    finally:
        trace_id_var.reset(tokens[1])
        request_id_var.reset(tokens[0])
    (line,) = stream.getvalue().splitlines()
    if json_lines:
        entry = orjson.loads(line)
        assert list(entry)[:5] == ["ts", "level", "service", "logger", "msg"] and entry["level"] == "info"
        assert (entry["method"], entry["status"], entry["request_id"], entry["trace_id"]) == \
            ("POST", 201, "req-9", TRACE)
        assert entry["msg"].startswith("POST /graphql - 201 ") and entry["ts"].endswith("Z")
    else:
        assert line.split(" ", 1)[1].startswith("INFO  gateway gateway.access [req-9] POST /graphql - 201 ")


@pytest.mark.usefixtures("restore_logging")
def test_any_other_listener_gets_a_real_record() -> None:
    from gateway.access_log import log
    from telemetry.logs import direct_line

    logs.configure_logging("INFO", json_lines=True)
    root = logging.getLogger()
    assert direct_line(log, logging.INFO) is not None
    extra = logging.NullHandler()
    changes = (
        (lambda: root.addHandler(extra), lambda: root.removeHandler(extra)),
        (lambda: log.addHandler(extra), lambda: log.removeHandler(extra)),
        (lambda: setattr(log, "propagate", False), lambda: setattr(log, "propagate", True)),
    )
    for change, undo in changes:
        change()
        try:
            assert direct_line(log, logging.INFO) is None
        finally:
            undo()
    assert direct_line(log, logging.INFO) is not None
    root.handlers[0].setFormatter(logging.Formatter())  # reformatted: not ours to copy
    assert direct_line(log, logging.INFO) is None


class _CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.mark.usefixtures("restore_logging")
async def test_on_a_loop_the_lines_of_a_flush_interval_go_out_in_one_write_and_in_order() -> None:
    import asyncio

    from gateway.access_log import AccessRecord

    logs.configure_logging("INFO", json_lines=False)
    stream = _CountingStream()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    began = loop.time()
    for path in ("/graphql", "/graphql/"):
        AccessRecord("POST", path).finish()
        await asyncio.sleep(0)  # lines of several loop iterations
    assert stream.writes == 0  # held for the flush interval
    deadline = time.monotonic() + 5
    while stream.writes == 0:
        assert time.monotonic() < deadline, "the held lines were never written"
        await asyncio.sleep(0.01)
    assert loop.time() - began >= FLUSH_SECONDS - 0.01
    assert stream.writes == 1 and len(stream.getvalue().splitlines()) == 2
    AccessRecord("GET", "/late").finish()
    logging.getLogger("gateway.server").warning("a record through the handler")  # the held line first
    late, warning = stream.getvalue().splitlines()[2:]
    assert "gateway.access" in late and "GET /late" in late
    assert "gateway.server" in warning and warning.endswith("a record through the handler")
    AccessRecord("GET", "/at-exit").finish()
    logging.getLogger().handlers[0].flush()  # logging.shutdown at exit flushes the handler
    assert stream.getvalue().splitlines()[-1].split("] ", 1)[1].startswith("GET /at-exit")


@pytest.mark.usefixtures("restore_logging")
async def test_past_the_byte_bound_the_held_lines_go_out_at_once() -> None:
    from gateway.access_log import AccessRecord

    logs.configure_logging("INFO", json_lines=False)
    stream = _CountingStream()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    path = "/" + "p" * 1000
    count = FLUSH_BYTES // 1000 + 1  # each line is over 1,000 bytes
    for _ in range(count):
        AccessRecord("GET", path).finish()
    # the line that took the held bytes past the bound wrote them all at once, without waiting for the
    # interval; the lines after it are held again
    assert stream.writes == 1 and len(stream.getvalue()) >= FLUSH_BYTES
    assert len(stream.getvalue()) - len(stream.getvalue().splitlines()[-1]) - 1 < FLUSH_BYTES
    assert len(stream.getvalue().splitlines()) < count
