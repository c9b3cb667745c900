"""A Redis restart under a running worker: the worker keeps going, and no payment is lost.

The private Redis here runs without persistence (like the kit's embedded one), so what was queued in
it is gone after the restart: the payments in MongoDB are the record, and reconciliation requeues
the ones whose job vanished.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis.exceptions

from subgraphs.kit.embedded_redis import EmbeddedRedis, free_port
from subgraphs.kit.redis_client import connect_redis
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import FAST, TRANSIENT_CARD, order_created, payment_id_of, running_worker, wait_status
from tests.support.mongo import TestMongo


@pytest.fixture
def private_redis() -> Iterator[list[EmbeddedRedis]]:
    servers = [EmbeddedRedis(free_port()).start()]
    yield servers
    for server in servers:
        server.stop()


async def test_the_worker_survives_a_redis_restart_and_no_payment_is_lost(
    private_redis: list[EmbeddedRedis], mongo: TestMongo,
) -> None:
    port, url = private_redis[0].port, private_redis[0].url
    client = connect_redis(url)
    # Enough tries for the flaky card to fail again after the restart (its failure count lived in Redis).
    config = replace(FAST, max_provider_tries=6)
    core = await PaymentsCore.open(client, mongo.database("payments"), url, config)
    service = PaymentService(core)
    try:
        async with running_worker(core, url):
            before = order_created()
            await service.on_order_created(before)
            await wait_status(core, payment_id_of(before), "SUCCEEDED")

            # A payment whose job sits deferred in the queue (backoff) when Redis goes away.
            deferred = order_created(token=TRANSIENT_CARD)
            await service.on_order_created(deferred)
            await wait_status(core, payment_id_of(deferred), "PROCESSING")
            private_redis[0].stop()

            # An order arriving while Redis is down: the payment is stored, its enqueue fails
            # (the event consumer would redeliver the event; reconciliation covers it as well).
            during = order_created()
            with pytest.raises(redis.exceptions.ConnectionError):
                await service.on_order_created(during)

            private_redis.append(EmbeddedRedis(port).start())  # same port, empty: nothing was persisted

            # The same worker, never restarted, charges a new order.
            after = order_created()
            await _retrying(service.on_order_created, after)
            await wait_status(core, payment_id_of(after), "SUCCEEDED", within=30)

            # The two payments whose jobs Redis lost are requeued by reconciliation and charged.
            report = await Reconciler(core).run_once(stale_after_seconds=0)
            assert set(report.requeued) == {payment_id_of(deferred), payment_id_of(during)}
            await wait_status(core, payment_id_of(deferred), "SUCCEEDED")
            await wait_status(core, payment_id_of(during), "SUCCEEDED")
    finally:
        await core.close()
        await client.aclose()


async def _retrying(handler, event) -> None:
    """The first command on a pooled connection after the restart may still see the dead socket."""
    try:
        await handler(event)
    except redis.exceptions.ConnectionError:
        await handler(event)
