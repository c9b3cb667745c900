"""The simulated providers' fault plan (PAYMENTS_PROVIDER_FAULTS): parsed strictly, reproducible per
seed and key, and under it payments still never charge wrongly."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.providers.faults import Fault, FaultPlan
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import FAST, assert_consistent, books, order_created, payment_id_of, running_worker
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for

PLAN = FaultPlan(seed=7, flaky=0.2, lose_answer=0.25, slow=0.1, slow_seconds=0.05)


def test_the_plan_is_read_from_the_environment() -> None:
    raw = '{"seed": 7, "lose_answer": 0.2, "slow": 0.1, "slow_seconds": 3, "flaky": 0.1}'
    config = PaymentsConfig.from_env({"PAYMENTS_PROVIDER_FAULTS": raw})
    assert config.provider_faults == FaultPlan(seed=7, flaky=0.1, lose_answer=0.2, slow=0.1, slow_seconds=3.0)
    assert not PaymentsConfig.from_env({}).provider_faults.active
    assert PaymentsConfig.from_env({"PAYMENTS_PROVIDER_LEDGER_DATABASE": "books"}).ledger_database == "books"


@pytest.mark.parametrize(("raw", "complaint"), [
    ("{nope", "not JSON"), ("[1]", "JSON object"), ('{"lose": 0.1}', "unknown keys"),
    ('{"flaky": 1.5}', "probability"), ('{"flaky": 0.6, "slow": 0.6}', "must not exceed 1"),
    ('{"seed": "x"}', "PAYMENTS_PROVIDER_FAULTS"),
])
def test_a_bad_plan_is_refused_with_a_reason(raw: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        FaultPlan.parse(raw)


def test_faults_are_a_function_of_seed_key_and_call() -> None:
    draws = [PLAN.fault_for("card", "charge", f"key-{i}", 1) for i in range(20_000)]
    assert draws == [PLAN.fault_for("card", "charge", f"key-{i}", 1) for i in range(20_000)]
    assert draws != [replace(PLAN, seed=8).fault_for("card", "charge", f"key-{i}", 1) for i in range(20_000)]
    counts = Counter(draws)
    for fault, share in ((Fault.FLAKY, 0.2), (Fault.LOSE_ANSWER, 0.25), (Fault.SLOW, 0.1), (None, 0.45)):
        assert abs(counts[fault] / len(draws) - share) < 0.02, (fault, counts)
    # A later call under the same key draws again: a key is not doomed to one fault forever.
    assert len({PLAN.fault_for("card", "resolve", "k", n) for n in range(1, 50)}) > 1


@pytest.fixture
def config() -> PaymentsConfig:
    return replace(FAST, provider_faults=PLAN, max_provider_tries=3)


async def settled_everywhere(core: PaymentsCore, payment_ids: list[str]) -> list[dict[str, Any]] | None:
    """One reconciliation pass, then the payments if none is still open."""
    await Reconciler(core).run_once(stale_after_seconds=1.0)
    payments = [await core.store.get(payment_id) for payment_id in payment_ids]
    if any(p is None or p["status"] in ("PENDING", "PROCESSING") for p in payments):
        return None
    return [p for p in payments if p is not None]


async def test_under_faults_every_payment_agrees_with_the_provider(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    events = [order_created(amount=1000 + i) for i in range(8)]
    async with running_worker(core, redis_url):
        for event in events:
            await service.on_order_created(event)

        async def done() -> list[dict[str, Any]] | None:
            return await settled_everywhere(core, [payment_id_of(e) for e in events])

        payments = await wait_for(done, timeout=60, interval=0.3, message="every payment to settle")
    for event, payment in zip(events, payments, strict=True):
        ledger = await books(core, str(event.data["order_id"]))
        assert len([c for c in ledger.charges if c.status == "succeeded"]) <= 1  # one charge per attempt
        expected = payment["amount"] if payment["status"] == "SUCCEEDED" else 0
        assert ledger.net == expected, (payment["status"], payment["attempts"])
        assert_consistent(payment, ledger)


@pytest.fixture
async def fresh_cores(redis: aioredis.Redis, redis_url: str, config: PaymentsConfig, mongo: TestMongo
                      ) -> AsyncIterator[Any]:
    opened: list[PaymentsCore] = []

    async def open_core() -> PaymentsCore:
        await redis.flushdb()  # queue results and breaker state of the previous run
        run = len(opened)
        core = await PaymentsCore.open(redis, mongo.database(f"payments{run}"), redis_url, config,
                                       ledger_database=mongo.database(f"ledger{run}"))
        opened.append(core)
        return core

    yield open_core
    for core in opened:
        await core.close()


async def test_the_same_seed_replays_the_same_faults(fresh_cores: Any, redis_url: str) -> None:
    event = order_created(order_id="order-replayed", amount=4100)
    runs = []
    for _ in range(2):
        core = await fresh_cores()
        async with running_worker(core, redis_url):
            await PaymentService(core).on_order_created(event)

            async def done(core: PaymentsCore = core) -> list[dict[str, Any]] | None:
                return await settled_everywhere(core, [payment_id_of(event)])

            [payment] = await wait_for(done, timeout=30, interval=0.3, message="the payment to settle")
        runs.append((payment["status"], [(a["outcome"], a["error_code"]) for a in payment["attempts"]]))
    assert runs[0] == runs[1]
