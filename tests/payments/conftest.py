"""Payments test helpers: a core on the session Redis and this test's database, an in-process worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from subgraphs.kit.events import Event
from subgraphs.kit.events.types import OrderCreated
from subgraphs.kit.queue import InProcessWorker
from subgraphs.kit.redis_client import connect_redis
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.domain import payment_id_for
from subgraphs.payments.jobs import CTX_KEY, functions
from subgraphs.payments.providers.ledger_view import OrderLedger, read_ledger
from subgraphs.payments.service import PaymentService
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for

FAST = PaymentsConfig(
    max_provider_tries=3,
    job_timeout_seconds=3.0,
    provider_timeout_seconds=0.4,
    backoff_base_seconds=0.05,
    backoff_cap_seconds=0.2,
    breaker_failure_threshold=3,
    breaker_window_seconds=30.0,
    breaker_cooldown_seconds=0.6,
    slow_charge_seconds=0.2,
    transient_failures=2,
    reconcile_interval_seconds=3600,
    stale_after_seconds=60.0,
)

# A reconciliation cutoff in the future: every payment counts as stale, whatever the clock's resolution
# (mongomock keeps milliseconds, so "0 s ago" may not be older than a write made in the same millisecond).
EVERYTHING_STALE = -1.0

SUCCESS_CARD = "pm_card_visa"
DECLINED_CARD = "pm_card_chargeDeclined"
INSUFFICIENT_FUNDS_CARD = "pm_card_chargeDeclinedInsufficientFunds"
TRANSIENT_CARD = "pm_card_transient"
OUTAGE_CARD = "pm_card_outage"
TIMEOUT_CARD = "pm_card_timeout"
LOST_RESPONSE_CARD = "pm_card_lostResponse"
SLOW_CARD = "pm_card_slow"
WRONG_AMOUNT_CARD = "pm_card_wrongAmount"


def order_created(
    *, order_id: str | None = None, token: str = SUCCESS_CARD, provider: str = "card", amount: int = 2500,
    user_id: str = "u1", currency: str = "EUR", event_id: str | None = None,
) -> Event:
    order_id = order_id or str(uuid.uuid4())
    return OrderCreated(
        order_id=order_id, order_number=f"SO-{order_id[:6]}", user_id=user_id, total_amount=amount,
        currency=currency, lines=[], payment_provider=provider, payment_token=token,
    ).envelope(source="orders", subject=f"order:{order_id}", event_id=event_id)


def order_id_of(event: Event) -> str:
    return str(event.data["order_id"])


def payment_id_of(event: Event) -> str:
    return payment_id_for(order_id_of(event))


@pytest.fixture
def config() -> PaymentsConfig:
    return FAST


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def core(redis: aioredis.Redis, redis_url: str, config: PaymentsConfig, mongo: TestMongo
               ) -> AsyncIterator[PaymentsCore]:
    database: Any = mongo.database("payments")
    # The provider's books in this test's own database (the default, `provider_ledger`, is shared).
    opened = await PaymentsCore.open(redis, database, redis_url, config,
                                     ledger_database=mongo.database("provider_ledger"))
    yield opened
    await opened.close()


@pytest.fixture
def service(core: PaymentsCore) -> PaymentService:
    return PaymentService(core)


@asynccontextmanager
async def running_worker(core: PaymentsCore, redis_url: str) -> AsyncIterator[InProcessWorker]:
    """The payments queue worker inside the test's event loop, as the service runs it in embedded mode."""
    running = InProcessWorker(functions=functions(core.config), queue_name=core.config.queue_name,
                              redis_url=redis_url, ctx={CTX_KEY: core}, max_tries=core.config.job_max_tries,
                              poll_delay=0.02)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def worker(core: PaymentsCore, redis_url: str) -> AsyncIterator[InProcessWorker]:
    async with running_worker(core, redis_url) as running:
        yield running


async def wait_status(core: PaymentsCore, payment_id: str, *statuses: str, within: float = 10.0) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        payment = await core.store.get(payment_id)
        return payment if payment is not None and payment["status"] in statuses else None

    payment = await wait_for(probe, timeout=within, message=f"payment {payment_id} in {statuses}")
    assert payment is not None
    return payment


async def published(redis: aioredis.Redis, core: PaymentsCore, event_type: str) -> list[dict[str, Any]]:
    """Events of a type on the bus, after publishing what is in the outbox."""
    await core.relay.relay_once()
    entries = await redis.xrange("events")
    return [orjson.loads(fields["event"]) for _, fields in entries if fields["type"] == event_type]


async def books(core: PaymentsCore, order_id: str) -> OrderLedger:
    """The provider's side of one order (what the chaos checker reads)."""
    ledgers = await read_ledger(core.ledger_database, [order_id])
    return ledgers.get(order_id) or OrderLedger(order_id, ())


def assert_consistent(payment: dict[str, Any], ledger: OrderLedger) -> None:
    """Payments' record agrees with the provider's books, and never refunds more than it captured."""
    assert 0 <= payment["refunded_amount"] <= payment["captured_amount"]
    assert (payment["captured_amount"], payment["refunded_amount"]) == (ledger.captured, ledger.refunded)
    succeeded = [r for r in payment.get("refunds", []) if r["status"] == "SUCCEEDED"]
    assert sum(r["amount"] for r in succeeded) == payment["refunded_amount"]
    assert sorted(r["id"] for r in succeeded) == sorted(r.idempotency_key for r in ledger.refunds)
