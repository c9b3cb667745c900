"""retryPayment: one new attempt however many concurrent calls, typed refusals, owner only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from subgraphs.kit.auth import Viewer
from subgraphs.kit.errors import BadUserInput, Forbidden, NotFound
from subgraphs.kit.events.types import OrderCancelled
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import job_id_for
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.service import PaymentService, RetryRefused, RetryScheduled
from tests.payments.conftest import (
    DECLINED_CARD,
    EVERYTHING_STALE,
    INSUFFICIENT_FUNDS_CARD,
    SUCCESS_CARD,
    order_created,
    order_id_of,
    payment_id_of,
    running_worker,
    wait_status,
)

CUSTOMER = Viewer(user_id="u1", scopes=frozenset(), token="")
STRANGER = Viewer(user_id="u2", scopes=frozenset(), token="")


async def failed_payment(core: PaymentsCore, service: PaymentService, redis_url: str, token: str) -> str:
    event = order_created(token=token)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        await wait_status(core, payment_id_of(event), "FAILED")
    return order_id_of(event)


async def test_concurrent_retries_create_exactly_one_new_attempt(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    order_id = await failed_payment(core, service, redis_url, INSUFFICIENT_FUNDS_CARD)
    outcomes = await asyncio.gather(*(service.retry_payment(CUSTOMER, order_id, None) for _ in range(8)))
    assert all(isinstance(outcome, RetryScheduled) for outcome in outcomes)
    assert {outcome.payment["attempt"] for outcome in outcomes} == {2}
    payment_id = outcomes[0].payment["_id"]
    assert await redis.zrange(core.config.queue_name, 0, -1) == [job_id_for(payment_id, 2)]
    payment = await core.store.get(payment_id)
    assert payment is not None and payment["attempt"] == 2 and payment["status"] == "PENDING"


async def test_a_retry_with_another_card_succeeds_on_a_new_idempotency_key(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    order_id = await failed_payment(core, service, redis_url, INSUFFICIENT_FUNDS_CARD)
    outcome = await service.retry_payment(CUSTOMER, order_id, ("card", SUCCESS_CARD))
    assert isinstance(outcome, RetryScheduled)
    async with running_worker(core, redis_url):
        payment = await wait_status(core, outcome.payment["_id"], "SUCCEEDED")
    assert [(a["number"], a["outcome"]) for a in payment["attempts"]] == [(1, "DECLINED"), (2, "SUCCEEDED")]
    assert payment["attempts"][1]["idempotency_key"] == f"{payment['_id']}:2"
    assert payment["failure"] is None


async def test_refusals_are_typed(core: PaymentsCore, service: PaymentService, redis_url: str) -> None:
    hard = await failed_payment(core, service, redis_url, DECLINED_CARD)
    refused = await service.retry_payment(CUSTOMER, hard, None)
    assert isinstance(refused, RetryRefused) and refused.reason == "FINAL_FAILURE"

    soft = await failed_payment(core, service, redis_url, INSUFFICIENT_FUNDS_CARD)
    cancelled = OrderCancelled(order_id=soft, order_number="SO-1", user_id="u1", reason="hold expired")
    await service.on_order_cancelled(cancelled.envelope(source="orders", subject=f"order:{soft}"))
    refused = await service.retry_payment(CUSTOMER, soft, None)
    assert isinstance(refused, RetryRefused) and refused.reason == "ORDER_CLOSED"

    paid = order_created(token=SUCCESS_CARD)
    await service.on_order_created(paid)
    async with running_worker(core, redis_url):
        await wait_status(core, payment_id_of(paid), "SUCCEEDED")
    refused = await service.retry_payment(CUSTOMER, order_id_of(paid), None)
    assert isinstance(refused, RetryRefused) and refused.reason == "NOT_FAILED"


async def test_only_the_customer_may_retry(core: PaymentsCore, service: PaymentService, redis_url: str) -> None:
    order_id = await failed_payment(core, service, redis_url, INSUFFICIENT_FUNDS_CARD)
    with pytest.raises(Forbidden):
        await service.retry_payment(STRANGER, order_id, None)
    with pytest.raises(NotFound):
        await service.retry_payment(CUSTOMER, "no-such-order", None)
    with pytest.raises(BadUserInput):
        await service.retry_payment(CUSTOMER, order_id, ("card", "   "))


async def test_the_reopen_guard_lets_one_of_many_stale_readers_win(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    """Every caller read attempt 1 before any wrote (what a real MongoDB allows): one update wins."""
    order_id = await failed_payment(core, service, redis_url, INSUFFICIENT_FUNDS_CARD)
    payment = await core.store.get(payment_id_of(order_created(order_id=order_id)))
    assert payment is not None
    results = [await core.store.reopen_for_retry(payment["_id"], 1, method=None, now=datetime.now(UTC))
               for _ in range(5)]
    assert sum(result is not None for result in results) == 1


async def test_a_retry_accepted_while_the_queue_is_unreachable_is_queued_by_reconciliation(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found by the chaos suite (a Redis restart): the new attempt was recorded, the enqueue raised, and the
    customer got 'Internal server error' for a retry that was in fact scheduled."""
    order_id = await failed_payment(core, service, redis_url, INSUFFICIENT_FUNDS_CARD)

    async def queue_down(payment: dict[str, object], job_id: str | None = None) -> bool:
        raise RedisConnectionError("Error 111 connecting to the queue. Connection refused.")

    with monkeypatch.context() as patched:
        patched.setattr(core, "enqueue", queue_down)
        outcome = await service.retry_payment(CUSTOMER, order_id, ("card", SUCCESS_CARD))
    assert isinstance(outcome, RetryScheduled) and outcome.payment["attempt"] == 2
    payment_id = outcome.payment["_id"]
    assert await redis.zrange(core.config.queue_name, 0, -1) == []
    report = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
    assert report.requeued == [payment_id]
    async with running_worker(core, redis_url):
        payment = await wait_status(core, payment_id, "SUCCEEDED")
    assert [(a["number"], a["outcome"]) for a in payment["attempts"]] == [(1, "DECLINED"), (2, "SUCCEEDED")]
