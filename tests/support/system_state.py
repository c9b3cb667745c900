"""Reading the whole system's state for the invariant checks: every service's MongoDB database, the
payment provider's ledger and the event bus in Redis.

Only reads; the checks themselves are the pure functions of `tests.support.invariants`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
from motor.motor_asyncio import AsyncIOMotorClient

from subgraphs.kit.events.bus import EVENTS_STREAM
from subgraphs.kit.events.types import (
    OrderCancelled,
    OrderCreated,
    OrderPaid,
    PaymentFailed,
    PaymentProcessed,
    PaymentRefunded,
)
from subgraphs.notifications.model import EVENT_TYPES as NOTIFYING_EVENT_TYPES
from subgraphs.payments.providers import ledger_view
from tests.support.invariants import (
    ConsumerGroup,
    LedgerCharge,
    LedgerRefund,
    Notification,
    Order,
    OutboxEvent,
    Payment,
    Refund,
    StockReservation,
    SystemState,
    VariantStock,
)

# Which consumer group handles which event types, and in which service's database it records the
# event ids it handled (the kit consumer's `processed_events`). Mirrors the handler tables of
# orders (handlers.py), payments (app.py) and notifications (model.EVENT_TYPES).
CONSUMER_GROUPS: dict[str, tuple[str, frozenset[str]]] = {
    "orders": ("orders", frozenset({PaymentProcessed.TYPE, PaymentFailed.TYPE, PaymentRefunded.TYPE})),
    "payments": ("payments", frozenset({OrderCreated.TYPE, OrderPaid.TYPE, OrderCancelled.TYPE})),
    "notifications": ("notifications", frozenset(NOTIFYING_EVENT_TYPES)),
}
# The collections whose documents carry an outbox, per service database.
OUTBOXES: dict[str, str] = {"orders": "orders", "payments": "payments", "notifications": "notifications"}


SERVICES = ("products", "orders", "payments", "notifications")


@dataclass(frozen=True)
class Databases:
    """The database name of each service (`<SERVICE>_MONGODB_DATABASE`, default the service's name) and
    of the simulated provider's books (`PAYMENTS_PROVIDER_LEDGER_DATABASE`)."""

    products: str = "products"
    orders: str = "orders"
    payments: str = "payments"
    notifications: str = "notifications"
    provider_ledger: str = "provider_ledger"

    def of(self, service: str) -> str:
        return str(getattr(self, service))


async def read_state(mongodb_url: str, redis_url: str, databases: Databases | None = None) -> SystemState:
    """Everything the checks need, from every service's database, the provider's ledger and Redis."""
    databases = databases or Databases()
    client: Any = AsyncIOMotorClient(mongodb_url, tz_aware=True, serverSelectionTimeoutMS=10_000)
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        state = SystemState()
        await _read_products(client[databases.products], state)
        await _read_orders(client[databases.orders], state)
        await _read_payments(client[databases.payments], state)
        await _read_notifications(client[databases.notifications], state)
        await _read_ledger(client[databases.provider_ledger], state)
        for service, collection in OUTBOXES.items():
            state.outbox.extend(await _read_outbox(client[databases.of(service)][collection], service))
        for group, (service, handles) in CONSUMER_GROUPS.items():
            state.groups[group] = await _read_group(redis, client[databases.of(service)], group, handles)
        return state
    finally:
        client.close()
        await redis.aclose()


async def read_stock(mongodb_url: str, database: str = "products") -> dict[str, int]:
    """On-hand units per SKU now (the `initial` of a run when read before it starts)."""
    client: Any = AsyncIOMotorClient(mongodb_url, tz_aware=True, serverSelectionTimeoutMS=10_000)
    try:
        state = SystemState()
        await _read_products(client[database], state)
        return {sku: variant.on_hand for sku, variant in state.variants.items()}
    finally:
        client.close()


async def _read_products(db: Any, state: SystemState) -> None:
    async for product in db["products"].find({}, {"variants": 1}):
        for variant in product.get("variants", []):
            stock = variant.get("stock") or {}
            state.variants[variant["sku"]] = VariantStock(
                sku=variant["sku"], on_hand=int(stock.get("on_hand", 0)), reserved=int(stock.get("reserved", 0)),
                available=int(stock.get("available", 0)),
                holds={str(k): int(v) for k, v in (variant.get("holds") or {}).items()},
            )
    async for reservation in db["reservations"].find({}):
        state.reservations[reservation["_id"]] = StockReservation(
            order_id=reservation["_id"], state=reservation["state"],
            lines=_units(reservation.get("lines", [])),
        )


def _units(lines: list[Mapping[str, Any]]) -> dict[str, int]:
    units: dict[str, int] = {}
    for line in lines:
        units[line["sku"]] = units.get(line["sku"], 0) + int(line["quantity"])
    return units


async def _read_orders(db: Any, state: SystemState) -> None:
    async for order in db["orders"].find({}, {"outbox": 0, "timeline": 0}):
        stock = order.get("stock") or {}
        state.orders[order["_id"]] = Order(
            id=order["_id"], status=order["status"], total=int(order["total"]), currency=order["currency"],
            lines=_units(order.get("lines", [])), stock_state=stock.get("state"), stock_pending=stock.get("pending"),
        )
    state.open_checkouts = [doc["_id"] async for doc in db["checkouts"].find({}, {"_id": 1})]


async def _read_payments(db: Any, state: SystemState) -> None:
    async for payment in db["payments"].find({}, {"outbox": 0}):
        state.payments[payment["_id"]] = Payment(
            id=payment["_id"], order_id=payment["order_id"], status=payment["status"],
            attempt=int(payment.get("attempt", 1)), amount=int(payment["amount"]),
            captured=int(payment.get("captured_amount") or 0), refunded=int(payment.get("refunded_amount") or 0),
            refunds=tuple(Refund(id=r["id"], amount=int(r["amount"]), status=r["status"])
                          for r in payment.get("refunds", [])),
        )


async def _read_notifications(db: Any, state: SystemState) -> None:
    async for notification in db["notifications"].find({}, {"outbox": 0, "html": 0, "body": 0}):
        state.notifications.append(Notification(
            id=notification["_id"], event_id=notification["event_id"], channel=notification["channel"],
            recipient=notification["recipient"], status=notification["status"],
            sent_attempts=sum(1 for a in notification.get("attempts", []) if a.get("outcome") == "SENT"),
        ))


async def _read_ledger(database: Any, state: SystemState) -> None:
    """The simulated providers' books, in their own MongoDB database (docs/payments.md)."""
    for order in (await ledger_view.read_ledger(database)).values():
        for charge in order.charges:
            state.charges.append(LedgerCharge(
                key=charge.idempotency_key, payment_id=charge.idempotency_key.rsplit(":", 1)[0],
                succeeded=charge.status == "succeeded", amount=charge.amount, refunded=charge.refunded,
            ))
            state.refunds.extend(LedgerRefund(key=r.idempotency_key, charge_key=charge.idempotency_key,
                                              amount=r.amount) for r in charge.refunds)


async def _read_outbox(collection: Any, source: str) -> list[OutboxEvent]:
    events = []
    async for document in collection.find({"outbox.0": {"$exists": True}}, {"outbox": 1}):
        for entry in document.get("outbox", []):
            event = entry.get("event") or {}
            dead_letter = entry.get("dead_letter")  # a poison entry the relay gave up on, with its reason
            events.append(OutboxEvent(id=str(event.get("id")), type=str(event.get("type")), source=source,
                                      published=bool(entry.get("published")),
                                      dead_letter_reason=str(dead_letter.get("error") or "")
                                      if isinstance(dead_letter, dict) else None))
    return events


async def _read_group(redis: aioredis.Redis, db: Any, group: str, handles: frozenset[str]) -> ConsumerGroup:
    processed = frozenset([doc["_id"] async for doc in db["processed_events"].find({}, {"_id": 1})])
    dead: dict[str, str] = {}
    for _entry_id, fields in await redis.xrange(f"{EVENTS_STREAM}:dead:{group}"):
        try:
            event_id = str(orjson.loads(fields.get("event", "{}")).get("id"))
        except orjson.JSONDecodeError:
            event_id = f"malformed:{_entry_id}"
        dead[event_id] = fields.get("error", "")
    info = await _group_info(redis, group)
    if info is None:
        return ConsumerGroup(group, handles, processed, dead, pending=0, lag=None, exists=False)
    undelivered = await redis.xrange(EVENTS_STREAM, f"({info['last-delivered-id']}", "+")
    return ConsumerGroup(group, handles, processed, dead, pending=int(info["pending"]), lag=len(undelivered))


async def _group_info(redis: aioredis.Redis, group: str) -> dict[str, Any] | None:
    try:
        groups = await redis.xinfo_groups(EVENTS_STREAM)
    except aioredis.ResponseError:  # no stream at all
        return None
    return next((g for g in groups if g["name"] == group), None)
