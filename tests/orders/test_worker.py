"""The standalone worker (`subgraphs.orders.worker.WorkerSettings`): its start-up wiring and jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from subgraphs.orders import worker
from subgraphs.orders.queue import EXPIRE_ORDER_JOB, ORDERS_QUEUE
from tests.support.mongo import TestMongo

T = TypeVar("T")


async def test_worker_settings_describe_the_orders_queue() -> None:
    assert worker.WorkerSettings.queue_name == ORDERS_QUEUE
    names = {f.name for f in worker.WorkerSettings.functions}
    assert names == {EXPIRE_ORDER_JOB}
    assert {job.name for job in worker.WorkerSettings.cron_jobs} == {
        "cron:retry_stock_actions", "cron:expire_due_holds", "cron:release_stale_checkouts"}


async def test_worker_starts_runs_its_jobs_and_stops(redis_url: str, shared_mongo: Any, mongo: TestMongo,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    for name, value in mongo.env("orders").items():  # the test's database, as a deployed worker's MONGODB_URL
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PRODUCTS_URL", "http://127.0.0.1:9/graphql")
    ctx: dict[str, Any] = {}
    # Each step has its own deadline, so a hang names the step (seen twice in full runs on a busy machine).
    await within("startup", worker.startup(ctx))
    try:
        assert await within("retry_stock_actions", worker.retry_stock_actions(ctx)) == 0
        assert await within("expire_due_holds", worker.expire_due_holds(ctx)) == 0
        assert await within("release_stale_checkouts", worker.release_stale_checkouts(ctx)) == 0
        assert await within("expire_order", worker.expire_order(ctx, "00000000-0000-5000-8000-000000000000")) is False
    finally:
        await within("shutdown", worker.shutdown(ctx))


async def within(step: str, awaitable: Awaitable[T], seconds: float = 60) -> T:
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError as exc:  # the chained traceback shows where it was waiting
        raise AssertionError(f"the worker's {step} did not finish within {seconds:.0f}s") from exc
