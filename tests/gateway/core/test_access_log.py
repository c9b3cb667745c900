"""The gateway's access line: one per request with method, path, operation, status, duration, request id
and trace id; the request id and the client's traceparent travel on to the subgraphs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest

from gateway import logs
from telemetry.logs import QUIET_LOGGERS, trace_id_from

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
