"""The orders service's collaborators, wired once per process (the app and the standalone worker)."""

from __future__ import annotations

from datetime import datetime

import httpx
from arq.connections import ArqRedis

from subgraphs.kit.events import EventBus, EventConsumer, OutboxRelay
from subgraphs.kit.events.consumer import ConsumerConfig
from subgraphs.kit.queue import queue_pool
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.orders.checkout import Checkout
from subgraphs.orders.compensation import StockCompensator
from subgraphs.orders.config import OrdersConfig
from subgraphs.orders.handlers import CONSUMER_GROUP, PaymentEventHandlers
from subgraphs.orders.lifecycle import OrderLifecycle
from subgraphs.orders.products_client import ProductsClient
from subgraphs.orders.queue import schedule_expiry
from subgraphs.orders.status_stream import StatusStream
from subgraphs.orders.stock_hold import StockHolder
from subgraphs.orders.store import OrderStore
from subgraphs.orders.sweeps import Sweeps


class OrdersServices:
    def __init__(self, runtime: ServiceRuntime, config: OrdersConfig,
                 products_transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.runtime = runtime
        self.config = config
        self._products_transport = products_transport
        self._started = False

    async def start(self, *, consume_events: bool = True) -> None:
        """Create indexes and collaborators; start the outbox relay (and the payment event consumer)."""
        runtime, config = self.runtime, self.config
        self.store = OrderStore(runtime.db)
        await self.store.create_indexes()
        self.products = ProductsClient(config.products_url, jwt_secret=runtime.settings.jwt_secret,
                                       subgraph_secret=runtime.settings.subgraph_shared_secret,
                                       transport=self._products_transport)
        self.bus = EventBus(runtime.redis)
        self.relay = OutboxRelay([self.store.orders], self.bus)
        self.stream = StatusStream(runtime.redis)
        self.holder = StockHolder(self.store, self.products)
        self.compensator = StockCompensator(self.store, self.products, self.holder)
        self.lifecycle = OrderLifecycle(self.store, self.stream, self.compensator, self.relay.notify)
        assert runtime.redis_url is not None  # set by runtime.start()
        self.queue: ArqRedis = await queue_pool(runtime.redis_url)
        self.checkout = Checkout(self.store, self.products, self.stream, self.relay.notify, self._schedule_expiry,
                                 config.hold_ttl, self.holder, self.lifecycle)
        self.sweeps = Sweeps(self.store, self.lifecycle, self.products, config.stale_checkout_after)
        self.consumer = EventConsumer(
            runtime.redis, runtime.db, PaymentEventHandlers(self.store, self.lifecycle).handlers(),
            ConsumerConfig(group=CONSUMER_GROUP),
        )
        await self.relay.start()
        if consume_events:
            await self.consumer.start()
        self._started = True

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            await self.consumer.stop()
            await self.relay.stop()
        finally:
            try:
                await self.queue.aclose()
            finally:
                await self.products.aclose()

    async def _schedule_expiry(self, order_id: str, at: datetime) -> None:
        await schedule_expiry(self.queue, order_id, at)
