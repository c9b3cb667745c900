"""The orders service app: `create_app(settings)` for uvicorn and tests."""

from __future__ import annotations

import logging

import httpx
from starlette.applications import Starlette

from subgraphs.kit.app import create_service_app
from subgraphs.kit.queue import InProcessWorker
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from subgraphs.orders import metrics
from subgraphs.orders.config import OrdersConfig
from subgraphs.orders.queue import ORDERS_QUEUE
from subgraphs.orders.schema import build_schema
from subgraphs.orders.schema.context import context_factory
from subgraphs.orders.services import OrdersServices
from subgraphs.orders.worker import CRON_JOBS, FUNCTIONS

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    config: OrdersConfig | None = None,
    *,
    products_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The orders app. With `settings.run_worker_in_process` (no MONGODB_URL) its arq worker runs inside."""
    settings = settings or Settings.from_env("orders")
    config = config or OrdersConfig.from_env()
    runtime = ServiceRuntime(settings)
    services = OrdersServices(runtime, config, products_transport=products_transport)
    workers: list[InProcessWorker] = []

    async def start_services() -> None:
        await services.start()
        runtime.watch(services.relay.health)
        runtime.watch(services.consumer.health)
        if settings.run_worker_in_process:
            assert runtime.redis_url is not None
            worker = InProcessWorker(functions=FUNCTIONS, cron_jobs=CRON_JOBS, queue_name=ORDERS_QUEUE,
                                     redis_url=runtime.redis_url, ctx={"orders": services},
                                     shutdown_grace_seconds=settings.worker_shutdown_grace_seconds)
            await worker.start()
            runtime.watch(worker.health)
            workers.append(worker)

    async def stop_services() -> None:
        while workers:
            try:
                await workers.pop().stop()
            except Exception:  # e.g. Redis already gone; the services must still be stopped
                log.exception("stopping the in-process orders worker failed")
        await services.stop()

    app = create_service_app(
        runtime,
        build_schema(),
        context_factory=context_factory(services),
        on_startup=[start_services],
        on_shutdown=[stop_services],
        metrics_sources=metrics.sources(services),
        queues=[ORDERS_QUEUE],
    )
    app.state.orders = services
    return app
