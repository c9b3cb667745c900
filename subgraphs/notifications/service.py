"""Wiring: the parts of the service, started in order and stopped in reverse.

DeliveryComponents is what both the service and the standalone arq worker need (store, transports,
the deliverer, the outbox relay for `notification.sent`). NotificationService adds the template check,
the event consumer, the queue pool and, in embedded mode, the in-process worker.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import Any

from arq.connections import ArqRedis

from subgraphs.kit.events import EventBus, EventConsumer, OutboxRelay
from subgraphs.kit.events.consumer import ConsumerConfig
from subgraphs.kit.queue import InProcessWorker, queue_pool
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from subgraphs.notifications.catalog import TemplateCatalog
from subgraphs.notifications.config import NotificationConfig
from subgraphs.notifications.delivery import Deliverer, enqueue_delivery
from subgraphs.notifications.dispatch import Dispatcher
from subgraphs.notifications.model import CONSUMER_GROUP, EVENT_TYPES, QUEUE_NAME
from subgraphs.notifications.store import NotificationStore
from subgraphs.notifications.transports import Transport, build_transports
from subgraphs.notifications.worker import CRON_JOBS, UNEXPECTED_ERROR_RETRIES, functions

log = logging.getLogger(__name__)


class DeliveryComponents:
    def __init__(self, runtime: ServiceRuntime, config: NotificationConfig, *, owns_runtime: bool = False) -> None:
        self.runtime = runtime
        self.config = config
        self.owns_runtime = owns_runtime
        self._stack = AsyncExitStack()
        self._store: NotificationStore | None = None
        self._deliverer: Deliverer | None = None
        self.relay: OutboxRelay | None = None
        self.transports: dict[Any, Transport] = {}

    @classmethod
    def from_env(cls) -> DeliveryComponents:
        """For the standalone worker: its own runtime on MONGODB_URL / REDIS_URL."""
        return cls(ServiceRuntime(Settings.from_env("notifications")), NotificationConfig.from_env(), owns_runtime=True)

    @property
    def store(self) -> NotificationStore:
        if self._store is None:
            raise RuntimeError("delivery components are not started")
        return self._store

    @property
    def deliverer(self) -> Deliverer:
        if self._deliverer is None:
            raise RuntimeError("delivery components are not started")
        return self._deliverer

    async def start(self) -> None:
        """Start every part; if one fails, stop the ones already started and re-raise."""
        try:
            await self._start_parts()
        except BaseException:
            await self.stop()
            raise

    async def _start_parts(self) -> None:
        if self.owns_runtime:
            await self.runtime.start()
            self._stack.push_async_callback(self.runtime.stop)
        self._store = NotificationStore(self.runtime.db)
        await self._store.ensure_indexes()
        self.transports = build_transports(self.config, self.runtime.db)
        for transport in self.transports.values():
            await transport.start()
            self._stack.push_async_callback(transport.close)
        relay = OutboxRelay([self._store.notifications], EventBus(self.runtime.redis))
        await relay.start()
        self._stack.push_async_callback(relay.stop)
        self.relay = relay
        self._deliverer = Deliverer(self._store, self.transports, self.config, on_sent=relay.notify)

    async def stop(self) -> None:
        await self._stack.aclose()


class NotificationService:
    def __init__(self, runtime: ServiceRuntime, config: NotificationConfig) -> None:
        self.runtime = runtime
        self.config = config
        self.catalog = TemplateCatalog(config.templates_dir, config.shop_name)
        self.delivery = DeliveryComponents(runtime, config)
        self.consumer: EventConsumer | None = None
        self.worker: InProcessWorker | None = None
        self._pool: ArqRedis | None = None
        self._stack = AsyncExitStack()

    @property
    def store(self) -> NotificationStore:
        return self.delivery.store

    async def start(self) -> None:
        """The startup hook. A broken template raises TemplateCheckError before anything else starts;
        on any failure, what did start is stopped again (including the runtime, which the kit's
        lifespan does not stop when a startup hook fails)."""
        try:
            self.catalog.check()
            await self._start_parts()
        except BaseException:
            await self.stop()
            await self.runtime.stop()
            raise
        log.info("notifications: %d templates checked; consuming %s", len(self.catalog.env.list_templates()),
                 ", ".join(EVENT_TYPES))

    async def _start_parts(self) -> None:
        self._stack.push_async_callback(self.delivery.stop)
        await self.delivery.start()
        assert self.delivery.relay is not None
        self.runtime.watch(self.delivery.relay.health)
        if self.runtime.redis_url is None:
            raise RuntimeError("the runtime has no Redis URL")
        pool = await queue_pool(self.runtime.redis_url)
        self._stack.push_async_callback(pool.aclose)
        self._pool = pool
        if self.runtime.settings.run_worker_in_process:
            worker = InProcessWorker(
                functions=functions(self.config.max_attempts),
                queue_name=QUEUE_NAME,
                redis_url=self.runtime.redis_url,
                ctx={"deliverer": self.delivery.deliverer, "store": self.delivery.store},
                cron_jobs=CRON_JOBS,
                max_tries=self.config.max_attempts + UNEXPECTED_ERROR_RETRIES,
                shutdown_grace_seconds=self.runtime.settings.worker_shutdown_grace_seconds,
            )
            await worker.start()
            self._stack.push_async_callback(worker.stop)
            self.runtime.watch(worker.health)
            self.worker = worker
        dispatcher = Dispatcher(self.delivery.store, self.catalog, self._enqueue, self.config.shop_name)
        consumer = EventConsumer(
            self.runtime.redis,
            self.runtime.db,
            {event_type: dispatcher.handle for event_type in EVENT_TYPES},
            ConsumerConfig(group=CONSUMER_GROUP),
        )
        await consumer.start()
        self._stack.push_async_callback(consumer.stop)
        self.runtime.watch(consumer.health)
        self.consumer = consumer

    @property
    def queue(self) -> ArqRedis:
        """The arq pool the service enqueues deliveries on."""
        if self._pool is None:
            raise RuntimeError("the queue pool is not open")
        return self._pool

    async def _enqueue(self, job: str, notification_id: str) -> None:
        await enqueue_delivery(self.queue, job, notification_id)

    async def stop(self) -> None:
        await self._stack.aclose()
