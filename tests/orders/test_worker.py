"""The standalone worker (`subgraphs.orders.worker.WorkerSettings`): its start-up wiring and jobs.

The worker's own start-up, jobs and shutdown run in a process of their own, as a deployed worker does
(`python -m subgraphs.kit.worker_process ...`): in the test process, after hundreds of other tests on
a busy machine, this step once waited forever on something of the test process itself (twice in
three loaded full runs; never in a process of its own, nor in the chaos suite's 125 worker restarts).
"""

from __future__ import annotations

import json
import os
from typing import Any

from subgraphs.orders import worker
from subgraphs.orders.queue import EXPIRE_ORDER_JOB, ORDERS_QUEUE
from tests.support.mongo import TestMongo
from tests.support.subprocess_run import run_python

RUN_THE_WORKER = """
import asyncio, json
from subgraphs.orders import worker

async def main():
    ctx = {}
    await worker.startup(ctx)
    try:
        results = [await worker.retry_stock_actions(ctx), await worker.expire_due_holds(ctx),
                   await worker.release_stale_checkouts(ctx),
                   await worker.expire_order(ctx, "00000000-0000-5000-8000-000000000000")]
    finally:
        await worker.shutdown(ctx)
    print(json.dumps(results))

asyncio.run(main())
"""


async def test_worker_settings_describe_the_orders_queue() -> None:
    assert worker.WorkerSettings.queue_name == ORDERS_QUEUE
    names = {f.name for f in worker.WorkerSettings.functions}
    assert names == {EXPIRE_ORDER_JOB}
    assert {job.name for job in worker.WorkerSettings.cron_jobs} == {
        "cron:retry_stock_actions", "cron:expire_due_holds", "cron:release_stale_checkouts"}


async def test_worker_starts_runs_its_jobs_and_stops(redis_url: str, shared_mongo: Any, mongo: TestMongo) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "PRODUCTS_URL": "http://127.0.0.1:9/graphql",
           **mongo.env("orders"), "LOG_LEVEL": "WARNING"}
    out = await run_python(RUN_THE_WORKER, env)
    assert json.loads(out.strip().splitlines()[-1]) == [0, 0, 0, False]
