"""Reconciliation: payments the queue lost track of are settled from the provider's records or requeued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.domain import idempotency_key_for
from subgraphs.payments.jobs import cron_jobs, reconcile_payments
from subgraphs.payments.providers import ChargeRequest
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.refunds import new_refund
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import (
    EVERYTHING_STALE,
    order_created,
    payment_id_of,
    published,
    running_worker,
    wait_status,
)
from tests.support.servers import wait_for


async def drop_job(redis: aioredis.Redis, core: PaymentsCore, job_id: str) -> None:
    """What a Redis restart without persistence (or arq giving up) does to a queued job."""
    await redis.zrem(core.config.queue_name, job_id)
    await redis.delete(f"arq:job:{job_id}")


async def test_a_charge_the_worker_never_recorded_is_settled_from_the_provider_ledger(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    event = order_created(amount=3100)
    await service.on_order_created(event)
    payment = await core.store.start_processing(payment_id_of(event), 1, datetime.now(UTC))
    assert payment is not None
    # The worker called the provider, which charged, and died before writing the outcome.
    await core.providers.get("card").charge(ChargeRequest(
        idempotency_key=idempotency_key_for(payment["_id"], 1), amount=3100, currency="EUR",
        token=payment["payment_token"]))

    report = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
    assert report.settled_from_ledger == [payment["_id"]] and report.requeued == []
    settled = await core.store.get(payment["_id"])
    assert settled is not None and settled["status"] == "SUCCEEDED" and settled["captured_amount"] == 3100
    [processed] = await published(redis, core, "payment.processed")
    assert processed["data"]["payment_id"] == payment["_id"]

    # Its job, still queued, finds the payment settled and charges nothing.
    async def queue_empty() -> bool:
        return await redis.zcard(core.config.queue_name) == 0

    async with running_worker(core, redis_url):
        await wait_for(queue_empty, timeout=5, message="the job to run")
    assert await core.providers.get("card").ledger.charge_count() == 1  # type: ignore[attr-defined]


async def test_a_payment_whose_job_was_lost_is_requeued_and_charged(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    event = order_created()
    await service.on_order_created(event)
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None
    await drop_job(redis, core, payment["job_id"])

    report = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
    assert report.requeued == [payment["_id"]]
    again = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
    assert again == type(report)(examined=1)  # its job is queued now
    async with running_worker(core, redis_url):
        await wait_status(core, payment["_id"], "SUCCEEDED")
    assert await core.providers.get("card").ledger.charge_count() == 1  # type: ignore[attr-defined]


async def test_a_refund_left_pending_is_finished(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    event = order_created(amount=800)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        await wait_status(core, payment_id_of(event), "SUCCEEDED")
    refund = {**new_refund("refund-1", 800, 1, "ops", None), "created_at": datetime.now(UTC) - timedelta(seconds=5)}
    assert await core.store.reserve_refund(payment_id_of(event), refund, datetime.now(UTC)) is not None

    result = await reconcile_payments({"payments": core, "job_try": 1})  # the cron job's own entry point
    assert result["refunds_resumed"] == []  # not stale yet (60 s)
    report = await Reconciler(core).run_once(stale_after_seconds=1)
    assert report.refunds_resumed == ["refund-1"]
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None and payment["status"] == "REFUNDED" and payment["refunded_amount"] == 800
    assert len(await published(redis, core, "payment.refunded")) == 1


def test_reconciliation_runs_as_a_cron_job(config: PaymentsConfig) -> None:
    [job] = cron_jobs(config)
    assert job.name == "reconcile_payments" and job.unique
