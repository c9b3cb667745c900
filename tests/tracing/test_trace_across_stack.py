"""One checkout is one trace: the client's `traceparent` through the gateway, orders, products, the
event bus, the payments job, the order's status change and the notification's delivery job, exported
over OTLP/HTTP by real processes (scripts/stack.py) to a receiver in this test."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.journey import CARD_OK, Journey
from scripts.stack import Stack
from tests.support.servers import wait_for
from tests.tracing.otlp_receiver import OtlpReceiver, Span

pytestmark = pytest.mark.slow

SERVICES = ("gateway", "orders", "products", "payments", "notifications")


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    running = OtlpReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stack(receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs: Path = tmp_path_factory.mktemp("tracing-stack")
    running = Stack.on_free_ports(log_dir=logs, env={
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "NOTIFICATIONS_MAILDIR": str(logs / "mail"),
    })
    try:
        running.start()
    except RuntimeError as exc:
        pytest.fail(f"the stack did not start: {exc}")
    yield running
    running.stop()


def _in_trace(spans: list[Span], trace_id: str) -> list[Span]:
    return [span for span in spans if span.trace_id == trace_id]


def _service(span: Span) -> str:
    return span.service.removesuffix("-worker")


async def test_a_checkout_is_one_trace_across_every_service(stack: Stack, receiver: OtlpReceiver) -> None:
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    journey = Journey(stack.gateway_url, say=lambda line: None, timeout=60)
    try:
        variant = (await journey.browse())[0]
        await journey.add_to_cart(variant["sku"], 1)
        journey._http.headers["traceparent"] = f"00-{trace_id}-{client_span}-01"
        order = await journey.place_order(CARD_OK)
        del journey._http.headers["traceparent"]
        await journey.eventually(lambda: journey.sent(order["id"], "ORDER_PAID"), "the paid email")
    finally:
        await journey.aclose()

    def complete() -> list[Span] | None:
        spans = _in_trace(receiver.snapshot(), trace_id)
        names = {span.name for span in spans}
        ids = {span.span_id for span in spans}
        whole = all(span.parent_span_id in ids or span.parent_span_id == client_span for span in spans)
        done = {"job process_payment", "job deliver_notification", "process order.paid"} <= names
        return spans if done and whole else None

    spans = await wait_for(lambda: asyncio.to_thread(complete), timeout=30, interval=0.2,
                           message="the whole trace of the checkout")
    assert {_service(span) for span in spans} >= set(SERVICES)
    by_id = {span.span_id: span for span in spans}
    roots = [span for span in spans if span.parent_span_id == client_span]
    assert [root.service for root in roots] == ["gateway"]  # the gateway continued the client's span
    # The subgraph fetches are the gateway's children; orders called products inside the same trace.
    fetched = {_service(by_id[s.parent_span_id]) for s in spans if s.service == "orders" and s.parent_span_id in by_id}
    assert "gateway" in fetched
    assert any(s.service == "products" and by_id[s.parent_span_id].service == "orders" for s in spans
               if s.parent_span_id in by_id)
    # Across the bus and the queues: each hop's span is a child of a span of the service before it.
    job = next(s for s in spans if s.name == "job process_payment")
    assert _service(by_id[job.parent_span_id]) == "payments"
    paid = next(s for s in spans if s.name == "process payment.processed" and s.service.startswith("orders"))
    assert _service(by_id[paid.parent_span_id]) == "payments"
    delivery = next(s for s in spans if s.name == "job deliver_notification")
    assert _service(by_id[delivery.parent_span_id]) == "notifications"


async def test_each_subscription_event_is_a_span_linked_to_the_subscribe(stack: Stack, receiver: OtlpReceiver) -> None:
    journey = Journey(stack.gateway_url, say=lambda line: None, timeout=60)
    try:
        variant = (await journey.browse())[0]
        await journey.add_to_cart(variant["sku"], 1)
        order = await journey.place_order(CARD_OK)
        await journey.watch_until(order["id"], "PAID")
    finally:
        await journey.aclose()

    def linked() -> bool:
        spans = receiver.snapshot()
        subscribes = {(s.trace_id, s.span_id) for s in spans if s.name == "subscribe Watch"}
        events = [s for s in spans if s.name == "subscription event Watch"]
        return bool(events) and all(set(s.links) & subscribes for s in events)

    assert await wait_for(lambda: asyncio.to_thread(linked), timeout=30, interval=0.2,
                          message="subscription event spans linked to the subscribe span")
