"""The whole journey, end to end: every service and its worker as a real process, the gateway in
front, a real Redis, and email delivered to an SMTP server on loopback.

The journey itself is `scripts/journey.py`, the same code `make demo` runs.
"""

from __future__ import annotations

import asyncio
import email
import uuid
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from scripts.journey import CARD_OK, Journey, JourneyResult, run_journey
from scripts.stack import Stack
from subgraphs.kit.auth import issue_token
from subgraphs.kit.embedded_redis import free_port
from subgraphs.kit.settings import DEV_JWT_SECRET
from tests.support.servers import wait_for

pytestmark = pytest.mark.slow


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def stack(mailbox: tuple[Mailbox, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("stack-logs")
    running = Stack.on_free_ports(
        env={"SMTP_URL": f"smtp://127.0.0.1:{mailbox[1]}", "NOTIFICATIONS_MAILDIR": str(logs / "mail")},
        log_dir=logs,
    )
    try:
        running.start()
    except RuntimeError as exc:
        pytest.fail(f"the stack did not start: {exc}\n{_tail_logs(logs)}")
    yield running
    running.stop()


def _tail_logs(folder: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(folder.glob("*.log")))


@pytest.fixture(scope="module")
def journey_result(stack: Stack) -> JourneyResult:
    async def shop() -> JourneyResult:
        journey = Journey(stack.gateway_url, say=lambda line: None, timeout=60)
        try:
            return await run_journey(journey)
        finally:
            await journey.aclose()

    return asyncio.run(shop())


async def test_a_good_card_takes_the_order_to_paid_live(journey_result: JourneyResult) -> None:
    statuses = [event["status"] for event in journey_result.paid_events]
    # The first event is the status when the subscription opened: still awaiting payment, or already
    # paid when the payment won the race. Either way the events move forward and end at PAID.
    assert statuses in (["AWAITING_PAYMENT", "PAID"], ["PAID"])
    last = journey_result.paid_events[-1]
    # Fields from three subgraphs in one live event: orders (status), products through orders'
    # @provides (product name), payments (the entity's payments).
    assert last["order"]["payments"] == [{"status": "SUCCEEDED"}]
    assert all(line["product"]["name"] for line in last["order"]["lines"])
    event_ids = [int(event["eventId"]) for event in journey_result.paid_events]
    assert event_ids == sorted(set(event_ids))


async def test_a_declined_card_cancels_and_puts_the_stock_back(journey_result: JourneyResult) -> None:
    last = journey_result.cancelled_events[-1]
    assert last["status"] == "CANCELLED"
    assert last["order"]["payments"] == [{"status": "FAILED"}]
    assert journey_result.stock_after == journey_result.stock_before


async def test_notifications_are_recorded_and_the_email_is_delivered(
    journey_result: JourneyResult, mailbox: tuple[Mailbox, int]
) -> None:
    paid_number = journey_result.paid_order["number"]
    cancelled_number = journey_result.cancelled_order["number"]
    recorded = {(n["eventType"], n["order"]["id"]) for n in journey_result.notifications if n["status"] == "SENT"}
    assert ("ORDER_PAID", journey_result.paid_order["id"]) in recorded
    assert ("ORDER_CANCELLED", journey_result.cancelled_order["id"]) in recorded

    box = mailbox[0]

    async def delivered() -> bool:
        subjects = [str(m["Subject"]) for m in box.messages]
        return any(paid_number in s and "payment received" in s for s in subjects) and any(
            cancelled_number in s and "cancelled" in s for s in subjects
        )

    await wait_for(delivered, timeout=30, message="both emails at the SMTP server")
    paid_mail = next(m for m in box.messages if paid_number in str(m["Subject"]) and "payment" in str(m["Subject"]))
    assert paid_mail["To"] == "shopper@example.com"
    parts = {part.get_content_type() for part in paid_mail.walk()}
    assert {"text/plain", "text/html"} <= parts


async def test_the_workers_run_as_their_own_processes_on_one_shared_database(stack: Stack) -> None:
    from subgraphs.kit import embedded_mongo

    if not embedded_mongo.available():
        pytest.skip(str(embedded_mongo.unavailable_reason()))
    names = {name for name, _ in stack.processes}
    assert {"orders-worker", "payments-worker", "notifications-worker"} <= names
    assert stack.shared_database and stack.mongo is not None and stack.mongo.running
    assert all(stack.process(name).poll() is None for name in names)


IDR_ORDER = """
query IdrOrder($id: ID!) {
  order(id: $id) {
    status total { amount currency } amountDue { amount currency }
    lines { quantity unitPrice { amount } lineTotal { amount } }
    payments { status amount { amount currency } captured { amount } }
  }
}"""
CREATE_IDR = """
mutation Create($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ... on ValidationError { message } }
}"""


async def test_an_order_beyond_32_bits_is_priced_paid_and_answered_through_the_gateway(stack: Stack) -> None:
    """2 x 15,000,000.00 IDR = 3,000,000,000 minor units (case 9 of the money issue): through the
    gateway, orders, products, the event bus and payments, every amount stays exact."""
    sku = f"IDR-{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {issue_token('catalog-admin', ('catalog:write',), DEV_JWT_SECRET)}"}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(stack.gateway_url, headers=admin, json={"query": CREATE_IDR, "variables": {
            "input": {"name": f"Scooter {sku}", "category": "Vehicles", "variants": [
                {"sku": sku, "price": {"amount": 1_500_000_000, "currency": "IDR"}, "onHand": 5}]}}})
    assert response.json()["data"]["createProduct"] == {"__typename": "ProductSuccess"}, response.text
    journey = Journey(stack.gateway_url, say=lambda line: None, timeout=60)
    try:
        order = await journey.place_order(CARD_OK, lines=[{"sku": sku, "quantity": 2}])
        assert order["total"] == {"amount": 3_000_000_000, "currency": "IDR"}

        async def paid() -> dict[str, Any] | None:
            found = (await journey.query(IDR_ORDER, {"id": order["id"]}))["order"]
            return found if found["status"] == "PAID" else None

        answered = await journey.eventually(paid, "the IDR order to be paid")
    finally:
        await journey.aclose()
    assert answered["total"] == {"amount": 3_000_000_000, "currency": "IDR"}
    assert answered["lines"] == [{"quantity": 2, "unitPrice": {"amount": 1_500_000_000},
                                  "lineTotal": {"amount": 3_000_000_000}}]
    assert answered["payments"] == [{"status": "SUCCEEDED", "amount": {"amount": 3_000_000_000, "currency": "IDR"},
                                     "captured": {"amount": 3_000_000_000}}]
    assert answered["amountDue"] == {"amount": 0, "currency": "IDR"}
