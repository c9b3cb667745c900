"""The payments service: GraphQL, the order-event consumer, the outbox relay, and (embedded) the worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from subgraphs.kit.app import create_service_app
from subgraphs.kit.events import EventConsumer
from subgraphs.kit.events.consumer import ConsumerConfig
from subgraphs.kit.events.types import OrderCancelled, OrderCreated, OrderPaid
from subgraphs.kit.queue import InProcessWorker
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from subgraphs.payments import metrics
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.context import PaymentsContext
from subgraphs.payments.jobs import CTX_KEY, cron_jobs, functions
from subgraphs.payments.schema import build_schema
from subgraphs.payments.service import PaymentService

log = logging.getLogger(__name__)
CONSUMER_GROUP = "payments"


@dataclass
class PaymentsState:
    """What a running app holds (tests reach it through `app.state.payments`)."""

    core: PaymentsCore | None = None
    service: PaymentService | None = None
    consumer: EventConsumer | None = None
    worker: InProcessWorker | None = None


def create_app(settings: Settings | None = None, config: PaymentsConfig | None = None) -> Starlette:
    settings = settings or Settings.from_env("payments")
    config = config or PaymentsConfig.from_env()
    runtime = ServiceRuntime(settings)
    state = PaymentsState()

    async def start() -> None:
        assert runtime.redis_url is not None
        core = await PaymentsCore.open(runtime.redis, runtime.db, runtime.redis_url, config)
        state.core, state.service = core, PaymentService(core)
        await core.start_relay()
        runtime.watch(core.relay.health)
        state.consumer = EventConsumer(
            runtime.redis, runtime.db,
            {OrderCreated.TYPE: state.service.on_order_created, OrderPaid.TYPE: state.service.on_order_paid,
             OrderCancelled.TYPE: state.service.on_order_cancelled},
            ConsumerConfig(group=CONSUMER_GROUP),
        )
        await state.consumer.start()
        runtime.watch(state.consumer.health)
        if settings.run_worker_in_process:
            state.worker = InProcessWorker(
                functions=functions(config), cron_jobs=cron_jobs(config), queue_name=config.queue_name,
                redis_url=runtime.redis_url, ctx={CTX_KEY: core}, max_tries=config.job_max_tries,
                shutdown_grace_seconds=settings.worker_shutdown_grace_seconds,
            )
            await state.worker.start()
            runtime.watch(state.worker.health)
        else:
            log.info("payments jobs run in `arq subgraphs.payments.worker.WorkerSettings` processes")

    async def stop() -> None:
        """Worker first (its jobs drain), then the consumer, then the core; each runs whatever the one
        before raised."""
        try:
            if state.worker is not None:
                await state.worker.stop()
        finally:
            try:
                if state.consumer is not None:
                    await state.consumer.stop()
            finally:
                if state.core is not None:
                    await state.core.close()

    def context(runtime: ServiceRuntime, request: Request | WebSocket, response: Response | WebSocket | None
                ) -> PaymentsContext:
        return PaymentsContext(runtime, request, response, service=state.service)

    app = create_service_app(runtime, build_schema(), context_factory=context, on_startup=[start], on_shutdown=[stop],
                             metrics_sources=metrics.sources(state), queues=[config.queue_name])
    app.state.payments = state
    app.state.runtime = runtime
    return app
