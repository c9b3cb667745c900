"""The orders queue: hold expiry jobs and periodic repairs.

Standalone (real MongoDB): `arq subgraphs.orders.worker.WorkerSettings`. Embedded (in-memory
database): the app runs the same functions in an InProcessWorker.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from arq import cron, func

from subgraphs.kit.logs import configure_logging
from subgraphs.kit.queue import HEALTH_CHECK_INTERVAL_SECONDS, redis_settings
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from subgraphs.kit.tracing import context_of, running_job
from subgraphs.orders.config import OrdersConfig
from subgraphs.orders.queue import EXPIRE_ORDER_JOB, ORDERS_QUEUE
from subgraphs.orders.services import OrdersServices

Ctx = dict[str, Any]

log = logging.getLogger(__name__)


def _services(ctx: Ctx) -> OrdersServices:
    services: OrdersServices = ctx["orders"]
    return services


async def expire_order(ctx: Ctx, order_id: str) -> bool:
    """Cancel the order if it is still awaiting payment when its stock hold ends, in the trace of the
    request that placed it (its context is stored on the order: the job's arguments never change)."""
    services = _services(ctx)
    with running_job(EXPIRE_ORDER_JOB, await context_of(services.store.orders, order_id), int(ctx.get("job_try", 1))):
        return await services.sweeps.expire_order(order_id)


async def retry_stock_actions(ctx: Ctx) -> int:
    return await _services(ctx).lifecycle.retry_stock_actions()


async def expire_due_holds(ctx: Ctx) -> int:
    return await _services(ctx).sweeps.expire_due_holds()


async def release_stale_checkouts(ctx: Ctx) -> int:
    return await _services(ctx).sweeps.release_stale_checkouts()


FUNCTIONS = [func(expire_order, name=EXPIRE_ORDER_JOB, max_tries=10)]
CRON_JOBS = [
    cron(retry_stock_actions, second={5, 35}, run_at_startup=True),
    cron(expire_due_holds, second={20, 50}, run_at_startup=True),
    cron(release_stale_checkouts, second={40}),
]


async def startup(ctx: Ctx) -> None:
    settings = Settings.from_env("orders")
    configure_logging("orders-worker", settings.log_level, settings.log_json)
    if settings.embedded_mongo:
        log.warning("MONGODB_URL is not set: this standalone worker has its own in-memory database and sees "
                    "none of the service's orders; embedded, the service runs these jobs in its own process")
    runtime = ServiceRuntime(settings)
    await runtime.start()
    services = OrdersServices(runtime, OrdersConfig.from_env())
    await services.start(consume_events=False)
    ctx["runtime"], ctx["orders"] = runtime, services


async def shutdown(ctx: Ctx) -> None:
    if "orders" in ctx:
        await ctx["orders"].stop()
    if "runtime" in ctx:
        await ctx["runtime"].stop()


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    queue_name = ORDERS_QUEUE
    redis_settings = redis_settings(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    on_startup = startup
    on_shutdown = shutdown
    max_tries = 10
    keep_result = 3600
    health_check_interval = HEALTH_CHECK_INTERVAL_SECONDS  # `arq --check` fails once the loop stalls
