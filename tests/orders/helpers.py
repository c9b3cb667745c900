"""Helpers for driving orders in tests: placing orders over HTTP, publishing payment events."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from subgraphs.kit.events import EVENTS_STREAM, Event, EventBus
from subgraphs.kit.events.types import PaymentFailed, PaymentProcessed, PaymentRefunded
from tests.orders.conftest import ALICE, OrdersInstance
from tests.orders.queries import PLACE_ORDER, order_input
from tests.support.servers import wait_for


async def place_order(orders: OrdersInstance, key: str, *lines: tuple[str, int],
                      headers: dict[str, str] = ALICE) -> dict[str, Any]:
    body = await orders.gql(PLACE_ORDER, {"input": order_input(*(lines or (("TEE-M", 1),))), "key": key}, headers)
    assert body["data"]["placeOrder"]["__typename"] == "OrderPlaced", body
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def publish(redis_url: str, event: Event) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await EventBus(client).publish(event)
    finally:
        await client.aclose()


async def bus_events(redis_url: str, event_type: str, order_id: str | None = None) -> list[Event]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        entries = await client.xrange(EVENTS_STREAM)
    finally:
        await client.aclose()
    events = [Event.from_json(fields["event"]) for _, fields in entries]
    return [e for e in events if e.type == event_type and (order_id is None or e.data.get("order_id") == order_id)]


def payment_processed(order: dict[str, Any], amount: int | None = None) -> Event:
    return PaymentProcessed(
        payment_id=f"pay-{order['id'][:8]}", order_id=order["id"], user_id=order["customer"]["id"],
        amount=order["total"]["amount"] if amount is None else amount, currency=order["total"]["currency"],
        provider="card", provider_reference="ch_123",
    ).envelope(source="payments", subject=f"payment:{order['id']}")


def payment_failed(order: dict[str, Any], final: bool = True) -> Event:
    return PaymentFailed(
        payment_id=f"pay-{order['id'][:8]}", order_id=order["id"], user_id=order["customer"]["id"],
        amount=order["total"]["amount"], currency=order["total"]["currency"], provider="card",
        reason="card declined", error_code="card_declined", final=final,
    ).envelope(source="payments", subject=f"payment:{order['id']}")


def payment_refunded(order: dict[str, Any], fully: bool = True) -> Event:
    return PaymentRefunded(
        payment_id=f"pay-{order['id'][:8]}", order_id=order["id"], user_id=order["customer"]["id"],
        amount=order["total"]["amount"], currency=order["total"]["currency"], refund_id="re_1", fully_refunded=fully,
    ).envelope(source="payments", subject=f"payment:{order['id']}")


async def wait_status(orders: OrdersInstance, order_id: str, status: str, within: float = 10) -> dict[str, Any]:
    async def reached() -> dict[str, Any]:
        document = await orders.services.store.get(order_id)
        return document if document is not None and document["status"] == status else {}

    document: dict[str, Any] = await wait_for(reached, timeout=within, message=f"order {order_id} {status}")
    return document


async def wait_stock(orders: OrdersInstance, order_id: str, state: str, within: float = 10) -> dict[str, Any]:
    """Wait until the stock call owed after a transition was confirmed by products."""

    async def done() -> dict[str, Any]:
        document = await orders.services.store.get(order_id)
        stock = (document or {}).get("stock") or {}
        return document if document and stock.get("state") == state and stock.get("pending") is None else {}

    document: dict[str, Any] = await wait_for(done, timeout=within, message=f"stock of {order_id} {state}")
    return document


async def stored(orders: OrdersInstance, order_id: str) -> dict[str, Any]:
    """The order document as stored (it must exist)."""
    document = await orders.services.store.get(order_id)
    assert document is not None, order_id
    return document
