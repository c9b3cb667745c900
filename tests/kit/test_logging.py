"""The kit's log lines: one access line per request with its fields, JSON without ANSI codes, the
service name in every line, uvicorn's logger mapped, and idle cron jobs quiet at INFO."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from arq import cron
from arq.connections import create_pool
from arq.worker import Worker

from subgraphs.kit import logs
from subgraphs.kit.queue import InProcessWorker, redis_settings
from subgraphs.kit.worker_process import worker_service_name
from telemetry.logs import trace_id_from
from tests.kit.test_app import make_app
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"
NAMED = ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "arq.worker")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging replaces the root handler: put pytest's (caplog's) back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    named = {name: (logging.getLogger(name).level, logging.getLogger(name).disabled,
                    logging.getLogger(name).filters[:]) for name in NAMED}
    yield
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    for name, (level, disabled, filters) in named.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.disabled = disabled
        logger.filters[:] = filters


def configured(service: str, json_lines: bool, level: str = "INFO") -> io.StringIO:
    """configure_logging for `service`, its handler writing into the returned buffer."""
    logs.configure_logging(service, level, json_lines)
    logging.getLogger("uvicorn.error").setLevel(logging.NOTSET)  # as run_service leaves it (serve_asgi sets WARNING)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


def test_trace_id_comes_from_a_valid_traceparent_only() -> None:
    assert trace_id_from(TRACEPARENT) == TRACE
    assert trace_id_from(TRACEPARENT.upper()) == TRACE
    for bad in (None, "", "garbage", f"00-{'0' * 32}-00f067aa0ba902b7-01", f"00-{TRACE[:-1]}-00f067aa0ba902b7-01"):
        assert trace_id_from(bad) is None, bad


async def test_one_access_line_per_request_with_its_fields(
    redis_url: str, mongo: TestMongo, caplog: pytest.LogCaptureFixture
) -> None:
    _, app = make_app(redis_url, mongo)
    caplog.set_level(logging.INFO)
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base) as client:
        caplog.clear()
        answered = await client.post(
            "/graphql", json={"query": "query Thing { thing { id } }", "operationName": "Thing"},
            headers={"x-request-id": "req-42", "traceparent": TRACEPARENT},
        )
        refused = await client.post("/graphql", content=b"not json", headers={"content-type": "application/json"})
        fetched = await client.get("/graphql", params={"query": "query G { thing { id } }", "operationName": "G"})
        forged = await client.get("/health", headers={"x-request-id": "a\tb"})
    assert answered.status_code == 200 and refused.status_code == 400 and fetched.status_code == 200
    assert forged.headers["x-request-id"] not in ("a\tb", "-")  # not printable: a new id
    lines = [r for r in caplog.records if r.name == "access"]
    assert len(lines) == 3, [r.getMessage() for r in lines]
    first, second, third = lines
    assert (first.method, first.path, first.operation, first.status) == ("POST", "/graphql", "Thing", 200)  # type: ignore[attr-defined]
    assert first.request_id == "req-42" and first.trace_id == TRACE  # type: ignore[attr-defined]
    assert isinstance(first.duration_ms, float) and first.duration_ms >= 0  # type: ignore[attr-defined]
    assert (second.operation, second.status, second.trace_id) == ("-", 400, "-")  # type: ignore[attr-defined]
    assert second.request_id == refused.headers["x-request-id"] != "-"  # type: ignore[attr-defined]
    assert (third.method, third.operation, third.status) == ("GET", "G", 200)  # type: ignore[attr-defined]


async def test_probes_log_their_access_line_at_debug(
    redis_url: str, mongo: TestMongo, caplog: pytest.LogCaptureFixture
) -> None:
    _, app = make_app(redis_url, mongo)
    caplog.set_level(logging.DEBUG, logger="access")
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base) as client:
        caplog.clear()
        assert (await client.get("/health")).status_code == 200
    (line,) = [r for r in caplog.records if r.name == "access"]
    assert line.levelno == logging.DEBUG and line.path == "/health"  # type: ignore[attr-defined]


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_the_service_and_no_color_codes() -> None:
    stream = configured("orders", json_lines=True)
    # what uvicorn logs at start-up: an ANSI copy of the message in `color_message`
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 7,
                                            extra={"color_message": "\x1b[36mStarted\x1b[0m [%d]"})
    logging.getLogger("access").info("GET /health - 200 1.0ms", extra={"status": 200})
    text = stream.getvalue()
    assert "\x1b" not in text
    entries = [orjson.loads(line) for line in text.splitlines()]
    assert [e["service"] for e in entries] == ["orders", "orders"]
    assert entries[0]["logger"] == "uvicorn" and entries[0]["msg"] == "Started server process [7]"
    assert "color_message" not in entries[0]
    assert entries[1]["status"] == 200 and entries[1]["request_id"] == "-"


@pytest.mark.usefixtures("restore_logging")
def test_readable_lines_carry_the_service_and_uvicorns_access_log_is_off() -> None:
    stream = configured("payments", json_lines=False)
    logging.getLogger("uvicorn.error").info("Application startup complete.")
    logging.getLogger("uvicorn.access").info('127.0.0.1:1 - "GET /health HTTP/1.1" 200')
    logging.getLogger("httpx").info("HTTP Request: POST http://orders/graphql 200 OK")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert " payments uvicorn " in lines[0] and "uvicorn.error" not in lines[0]


@pytest.mark.usefixtures("restore_logging")
def test_internal_http_client_lines_show_at_debug() -> None:
    stream = configured("orders", json_lines=False, level="DEBUG")
    logging.getLogger("httpx").info("HTTP Request: POST http://payments/graphql 200 OK")
    assert "HTTP Request" in stream.getvalue()


def test_a_worker_is_named_after_its_service() -> None:
    assert worker_service_name("subgraphs.orders.worker.WorkerSettings") == "orders-worker"
    assert worker_service_name("tests.kit.sample_worker.WorkerSettings") == "tests"


async def idle_sweep(ctx: dict[str, Any]) -> int:
    return 0


async def idle_reconcile(ctx: dict[str, Any]) -> dict[str, Any]:
    """Longer than arq shows of a result (it truncates the repr in its line)."""
    return {"examined": 0, "settled_from_ledger": [], "requeued": [], "refunds_resumed": [], "expired": 0}


async def busy_sweep(ctx: dict[str, Any]) -> int:
    return 3


@pytest.mark.usefixtures("restore_logging")
async def test_an_idle_worker_prints_no_info_cron_lines(redis_url: str) -> None:
    stream = configured("orders-worker", json_lines=True)
    jobs = [cron(idle_sweep, name="idle_sweep", second=0), cron(idle_reconcile, name="idle_reconcile", second=0),
            cron(busy_sweep, name="busy_sweep", second=0)]
    wrapped = InProcessWorker(functions=[], cron_jobs=jobs, queue_name="unused", redis_url=redis_url,
                              ctx={})._options["cron_jobs"]  # the cron jobs as InProcessWorker runs them
    assert [job.name for job in wrapped] == [job.name for job in jobs]
    pool = await create_pool(redis_settings(redis_url))
    queue = "kit-logging-cron-test"
    try:
        await pool.delete(queue)
        # two cron rounds, enqueued the way arq's scheduler does (job id `cron:<name>:<time>`), then one burst run
        for round_ms in (1_000, 2_000):
            for job in jobs:
                await pool.enqueue_job(job.name, _job_id=f"{job.name}:{round_ms}", _queue_name=queue)
        worker = Worker(cron_jobs=wrapped, redis_pool=pool, queue_name=queue, burst=True, poll_delay=0.01,
                        handle_signals=False, keep_result=0)
        await worker.main()
        assert worker.jobs_complete == 6
        await worker.close()
    finally:
        await pool.delete(queue)
        await pool.aclose()
    entries = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    names = ("idle_sweep", "idle_reconcile", "busy_sweep")
    cron_lines = [e for e in entries if e["logger"] == "arq.worker" and any(f" {n}" in e["msg"] for n in names)
                  and ("→" in e["msg"] or "←" in e["msg"])]
    assert len(cron_lines) == 2, [e["msg"] for e in entries]  # busy_sweep's finish line, once per round
    assert all("busy_sweep" in e["msg"] and "← " in e["msg"] and e["level"] == "info" for e in cron_lines)
    assert all(e["service"] == "orders-worker" for e in entries)


@pytest.mark.usefixtures("restore_logging")
def test_idle_cron_lines_still_show_at_debug() -> None:
    stream = configured("notifications-worker", json_lines=False, level="DEBUG")
    arq = logging.getLogger("arq.worker")
    logs.quiet_cron_jobs([cron(idle_sweep, name="cron:sweep_stale", second=0)])
    # arq's own format strings (arq/worker.py, run_job)
    arq.info("%6.2fs → %s(%s)%s", 0.01, "cron:sweep_stale", "", "")
    arq.info("%6.2fs ← %s ● %s", 0.01, "cron:sweep_stale", "0")
    arq.info("%6.2fs → %s(%s)%s", 0.01, "ab12:deliver_notification", "'n1'", "")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and all(" DEBUG " in line for line in lines[:2]), lines
    assert " INFO " in lines[2] and "deliver_notification" in lines[2]
