"""Everything the payments API and its worker share, built once per process from Redis and Mongo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from arq.connections import ArqRedis

from subgraphs.kit.events import EventBus, OutboxRelay
from subgraphs.kit.queue import queue_pool
from subgraphs.kit.tracing import traced_spec
from subgraphs.payments.breaker import CircuitBreaker
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.documents import job_spec
from subgraphs.payments.providers import ProviderRegistry, build_providers
from subgraphs.payments.store import PaymentStore

PROCESS_PAYMENT = "process_payment"


@dataclass
class PaymentsCore:
    config: PaymentsConfig
    redis: aioredis.Redis
    store: PaymentStore
    providers: ProviderRegistry
    breakers: dict[str, CircuitBreaker]
    relay: OutboxRelay
    queue: ArqRedis
    ledger_database: Any = None  # the simulated providers' books (providers/ledger_view.py reads them)
    _relay_started: bool = field(default=False, repr=False)

    @classmethod
    async def open(
        cls, redis: aioredis.Redis, database: Any, redis_url: str, config: PaymentsConfig,
        ledger_database: Any | None = None,
    ) -> PaymentsCore:
        """`ledger_database` keeps the simulated providers' books; by default the database
        `config.ledger_database` on the same MongoDB client (never Redis: see providers/ledger.py)."""
        store = PaymentStore(database)
        await store.ensure_indexes()
        if ledger_database is None:
            ledger_database = database.client[config.ledger_database]
        providers = await build_providers(ledger_database, config)
        breakers = {
            name: CircuitBreaker(
                redis, name,
                failure_threshold=config.breaker_failure_threshold,
                window_seconds=config.breaker_window_seconds,
                cooldown_seconds=config.breaker_cooldown_seconds,
                probe_ttl_seconds=config.provider_timeout_seconds + 1,
            )
            for name in providers.names
        }
        relay = OutboxRelay([store.collection], EventBus(redis))
        return cls(config, redis, store, providers, breakers, relay, await queue_pool(redis_url), ledger_database)

    async def start_relay(self) -> None:
        await self.relay.start()
        self._relay_started = True

    async def close(self) -> None:
        if self._relay_started:
            await self.relay.stop()
            self._relay_started = False
        await self.queue.aclose()

    async def enqueue(self, payment: dict[str, Any], job_id: str | None = None) -> bool:
        """Queue the charge of the payment's current attempt; False when that job id is already queued."""
        job = await self.queue.enqueue_job(
            PROCESS_PAYMENT, payment["_id"], payment["attempt"], traced_spec(job_spec(payment), payment),
            _job_id=job_id or payment["job_id"], _queue_name=self.config.queue_name,
        )
        return job is not None

    async def job_is_queued(self, job_id: str) -> bool:
        """Queued, deferred or running (arq keeps a job in the queue until it finishes)."""
        return await self.queue.zscore(self.config.queue_name, job_id) is not None
