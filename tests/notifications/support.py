"""Helpers of the notifications tests: a running service on the real bus, GraphQL calls, events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from subgraphs.kit.events import Event, EventBus
from subgraphs.kit.events.types import (
    OrderCancelled,
    OrderCreated,
    OrderFulfilled,
    OrderPaid,
    PaymentFailed,
    PaymentRefunded,
)
from subgraphs.kit.redis_client import connect_redis
from subgraphs.kit.settings import Settings
from subgraphs.notifications.app import create_app
from subgraphs.notifications.config import NotificationConfig
from subgraphs.notifications.service import NotificationService
from subgraphs.notifications.store import NotificationStore
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi, wait_for
from tests.support.tokens import bearer


@dataclass
class Running:
    base_url: str
    service: NotificationService
    bus: EventBus
    redis: aioredis.Redis
    http: httpx.AsyncClient

    @property
    def store(self) -> NotificationStore:
        return self.service.store

    @property
    def db(self) -> Any:
        return self.service.runtime.db

    async def graphql(self, query: str, variables: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.http.post(f"{self.base_url}/graphql", json={"query": query, "variables": variables or {}},
                                        headers=headers or {})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def set_preferences(self, user_id: str, **fields: Any) -> dict[str, Any]:
        result = await self.graphql(
            "mutation($input: UpdateNotificationPreferencesInput!) {"
            " updateNotificationPreferences(input: $input) { email phone webhookUrl pushDeviceToken } }",
            {"input": fields}, bearer(user_id),
        )
        assert "errors" not in result, result
        return dict(result["data"]["updateNotificationPreferences"])

    async def publish(self, event: Event) -> Event:
        await self.bus.publish(event)
        return event

    async def processed(self, event: Event) -> bool:
        return await self.db["processed_events"].find_one({"_id": event.id}) is not None

    async def notifications_of(self, event: Event) -> list[dict[str, Any]]:
        return [doc async for doc in self.store.notifications.find({"event_id": event.id})]

    async def wait_settled(self, event: Event, count: int, limit: float = 15) -> list[dict[str, Any]]:
        """Wait until the event is processed and `count` of its notifications are SENT or FAILED."""

        async def settled() -> list[dict[str, Any]]:
            if not await self.processed(event):
                return []
            documents = await self.notifications_of(event)
            done = [d for d in documents if d["status"] in {"SENT", "FAILED"}]
            return documents if len(documents) == count and len(done) == count else []

        return await wait_for(settled, timeout=limit, message=f"{count} settled notification(s) of {event.type}")


def settings_env(redis_url: str, mongo: TestMongo) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", **mongo.env("notifications")}


def config_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {
        "NOTIFICATIONS_MAILDIR": str(tmp_path / "mail"),
        "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.05",
        "NOTIFICATIONS_RETRY_MAX_SECONDS": "0.2",
        "NOTIFICATIONS_WEBHOOK_TIMEOUT": "2",
        "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE": "true",  # the test receivers listen on 127.0.0.1
        "SMTP_TIMEOUT": "5",
        **overrides,
    }


@asynccontextmanager
async def running(redis_url: str, mongo: TestMongo, tmp_path: Path, **config: str) -> AsyncIterator[Running]:
    app = create_app(Settings.from_env("notifications", env=settings_env(redis_url, mongo)),
                     NotificationConfig.from_env(config_env(tmp_path, **config)))
    redis = connect_redis(redis_url)
    try:
        async with serve_asgi(app) as base_url, httpx.AsyncClient(timeout=10) as http:
            yield Running(base_url, app.state.notifications, EventBus(redis), redis, http)
    finally:
        await redis.aclose()


# Events as orders and payments publish them.

def order_created(order_id: str = "o1", user_id: str = "u1", email: str | None = "buyer@example.com") -> Event:
    return OrderCreated(
        order_id=order_id, order_number=f"N-{order_id}", user_id=user_id, total_amount=4998, currency="EUR",
        lines=[{"variant_id": "v1", "sku": "TEE-M", "product_id": "p1", "product_name": "T-shirt <M>",
                "quantity": 2, "unit_price": 2499, "currency": "EUR"}],
        payment_provider="card", payment_token="pm_card_visa", customer_email=email,
    ).envelope(source="orders", subject=f"order:{order_id}")


def order_paid(order_id: str = "o1", user_id: str = "u1") -> Event:
    return OrderPaid(order_id=order_id, order_number=f"N-{order_id}", user_id=user_id, total_amount=4998,
                     currency="EUR", payment_id="pay1").envelope(source="orders", subject=f"order:{order_id}")


def order_cancelled(order_id: str = "o1", user_id: str = "u1") -> Event:
    return OrderCancelled(order_id=order_id, order_number=f"N-{order_id}", user_id=user_id,
                          reason="payment declined").envelope(source="orders", subject=f"order:{order_id}")


def order_fulfilled(order_id: str = "o1", user_id: str = "u1") -> Event:
    return OrderFulfilled(order_id=order_id, order_number=f"N-{order_id}", user_id=user_id).envelope(
        source="orders", subject=f"order:{order_id}")


def payment_failed(order_id: str = "o1", user_id: str = "u1") -> Event:
    return PaymentFailed(payment_id="pay1", order_id=order_id, user_id=user_id, amount=4998, currency="EUR",
                         provider="card", reason="card declined", error_code="card_declined").envelope(
        source="payments", subject="payment:pay1")


def payment_refunded(order_id: str = "o1", user_id: str = "u1") -> Event:
    return PaymentRefunded(payment_id="pay1", order_id=order_id, user_id=user_id, amount=4998, currency="EUR",
                           refund_id="re1", fully_refunded=True).envelope(source="payments", subject="payment:pay1")


EVENT_FACTORIES = {
    "order.created": order_created,
    "order.paid": order_paid,
    "order.cancelled": order_cancelled,
    "order.fulfilled": order_fulfilled,
    "payment.failed": payment_failed,
    "payment.refunded": payment_refunded,
}
