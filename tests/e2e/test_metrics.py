"""Prometheus metrics after the shopper's journey over the real stack: the gateway's, every service's
and every standalone worker's `/metrics` parse, and the counters moved (docs/observability.md#metrics)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families

from scripts.journey import Journey, JourneyResult, run_journey
from scripts.stack import Stack, has_worker, subgraph_names
from subgraphs.kit.embedded_redis import free_port, free_ports
from tests.support.servers import wait_for

pytestmark = pytest.mark.slow

Samples = list[tuple[str, dict[str, str], float]]


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def worker_ports() -> dict[str, int]:
    names = [f"{name}-worker" for name in subgraph_names() if has_worker(name)]
    return dict(zip(names, free_ports(len(names)), strict=True))


@pytest.fixture(scope="module")
def stack(smtp_port: int, worker_ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("metrics-stack")
    running = Stack.on_free_ports(
        env={"SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "NOTIFICATIONS_MAILDIR": str(logs / "mail"),
             "METRICS_SCRAPE_CACHE_SECONDS": "0"},
        process_env={name: {"WORKER_METRICS_PORT": str(port)} for name, port in worker_ports.items()},
        log_dir=logs,
    )
    try:
        running.start()
    except RuntimeError as exc:
        pytest.fail(f"the stack did not start: {exc}")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def journey(stack: Stack) -> JourneyResult:
    async def shop() -> JourneyResult:
        client = Journey(stack.gateway_url, say=lambda line: None, timeout=60)
        try:
            return await run_journey(client)
        finally:
            await client.aclose()

    return asyncio.run(shop())


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    assert response.status_code == 200, response.text
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(response.text)
            for s in family.samples]


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for n, got, v in samples if n == name and all(got.get(k) == w for k, w in labels.items()))


async def test_the_gateway_counts_requests_and_fetches_per_subgraph(stack: Stack, journey: JourneyResult) -> None:
    samples = await scrape(f"{stack.url('gateway')}/metrics")
    assert total(samples, "gateway_requests_total", outcome="success") > 0
    assert total(samples, "gateway_requests_total", operation_type="mutation") > 0
    for subgraph in ("products", "orders", "payments", "notifications"):
        assert total(samples, "gateway_subgraph_fetch_duration_seconds_count", subgraph=subgraph) > 0, subgraph
    assert total(samples, "gateway_plan_cache_requests_total", result="miss") > 0
    assert total(samples, "gateway_request_duration_seconds_count") >= total(samples, "gateway_requests_total") > 0
    # the full collection the worker runs before freezing what start-up allocated (gateway/gc_tuning.py)
    assert total(samples, "gateway_gc_pause_seconds_count", generation="2") >= 1


async def test_services_report_payments_by_status_and_notifications_sent(stack: Stack, journey: JourneyResult) -> None:
    payments = await scrape(f"{stack.url('payments')}/metrics")
    assert total(payments, "payments_by_status", status="SUCCEEDED") >= 1
    assert total(payments, "payments_by_status", status="FAILED") >= 1  # the declined card
    assert {labels["state"] for n, labels, v in payments if n == "payments_circuit_breaker_state" and v == 1}
    assert total(payments, "service_graphql_operation_duration_seconds_count", service="payments") > 0
    assert total(payments, "service_mongo_command_duration_seconds_count", service="payments") > 0
    assert total(payments, "service_redis_command_duration_seconds_count") > 0
    assert any(n == "events_consumer_lag" for n, _, _ in payments)

    async def sent() -> float:
        samples = await scrape(f"{stack.url('notifications')}/metrics")
        return total(samples, "notifications_by_status", channel="EMAIL", status="SENT")

    assert await wait_for(sent, timeout=30, interval=0.2, message="notifications sent") >= 1
    orders = await scrape(f"{stack.url('orders')}/metrics")
    assert total(orders, "orders_by_status", status="CANCELLED") >= 1  # the declined card's order
    products = await scrape(f"{stack.url('products')}/metrics")
    assert total(products, "products_reservations") >= 2


async def test_standalone_workers_serve_their_job_durations(
    stack: Stack, journey: JourneyResult, worker_ports: dict[str, int]
) -> None:
    if not stack.shared_database:
        pytest.skip("no shared MongoDB here: the workers run inside the services")
    samples = await scrape(f"http://127.0.0.1:{worker_ports['payments-worker']}/metrics")
    assert total(samples, "service_job_duration_seconds_count", outcome="ok") > 0
    notifications = await scrape(f"http://127.0.0.1:{worker_ports['notifications-worker']}/metrics")
    assert total(notifications, "service_job_duration_seconds_count") > 0


async def test_production_without_a_token_keeps_metrics_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.metrics import MetricsMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def get(middleware: MetricsMiddleware, headers: dict[str, str] | None = None) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(middleware), base_url="http://gw") as client:
            return await client.get("/metrics", headers=headers)

    assert (await get(MetricsMiddleware(app, production=True))).status_code == 404
    open_response = await get(MetricsMiddleware(app, production=False))
    assert open_response.status_code == 200 and "gateway_requests_total" in open_response.text
    monkeypatch.setenv("METRICS_TOKEN", "s3cret")
    guarded = MetricsMiddleware(app, production=True)
    assert (await get(guarded)).status_code == 401
    assert (await get(guarded, {"authorization": "Bearer s3cret"})).status_code == 200
