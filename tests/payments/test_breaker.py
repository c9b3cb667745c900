"""The per-provider circuit breaker: shared in Redis, fails fast while open, one half-open probe."""

from __future__ import annotations

import redis.asyncio as aioredis

from subgraphs.kit.queue import InProcessWorker
from subgraphs.payments.breaker import CircuitBreaker, CircuitState, Permit
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import OUTAGE_CARD, SUCCESS_CARD, order_created, payment_id_of, wait_status
from tests.support.servers import wait_for


def breaker(redis: aioredis.Redis, cooldown: float = 0.3) -> CircuitBreaker:
    return CircuitBreaker(redis, "card", failure_threshold=3, window_seconds=30, cooldown_seconds=cooldown,
                          probe_ttl_seconds=5)


async def test_opens_after_repeated_failures_and_fails_fast(redis: aioredis.Redis) -> None:
    circuit = breaker(redis, cooldown=30)
    for _ in range(2):
        permit = await circuit.acquire()
        assert permit.allowed and not permit.probe
        assert await circuit.record_failure(permit) is CircuitState.CLOSED
    assert await circuit.record_failure(await circuit.acquire()) is CircuitState.OPEN
    denied = await circuit.acquire()
    assert not denied.allowed and 29 < denied.retry_after_seconds <= 30
    # Another worker sees the same circuit.
    assert not (await breaker(redis, cooldown=30).acquire()).allowed


async def test_a_success_resets_the_failure_count(redis: aioredis.Redis) -> None:
    circuit = breaker(redis)
    for _ in range(2):
        await circuit.record_failure(await circuit.acquire())
    await circuit.record_success(await circuit.acquire())
    for _ in range(2):
        await circuit.record_failure(await circuit.acquire())
    assert await circuit.state() is CircuitState.CLOSED


async def test_half_open_lets_one_probe_through_and_its_success_closes(redis: aioredis.Redis) -> None:
    circuit = breaker(redis)
    for _ in range(3):
        await circuit.record_failure(await circuit.acquire())

    async def probe() -> Permit | None:
        permit = await circuit.acquire()
        return permit if permit.allowed else None

    # The first caller after the cooldown is the probe.
    permit = await wait_for(probe, timeout=5, message="cooldown over")
    assert permit is not None and permit.probe and await circuit.state() is CircuitState.HALF_OPEN
    assert not (await circuit.acquire()).allowed  # only one probe at a time
    await circuit.record_success(permit)
    assert await circuit.state() is CircuitState.CLOSED
    assert (await circuit.acquire()).allowed


async def test_a_failed_probe_opens_the_circuit_again(redis: aioredis.Redis) -> None:
    circuit = breaker(redis)
    for _ in range(3):
        await circuit.record_failure(await circuit.acquire())

    async def probe() -> Permit | None:
        permit = await circuit.acquire()
        return permit if permit.probe else None

    permit = await wait_for(probe, timeout=5, message="half-open probe")
    assert permit is not None
    assert await circuit.record_failure(permit) is CircuitState.OPEN
    assert not (await circuit.acquire()).allowed
    assert await circuit.times_opened() == 2


async def test_an_outage_opens_the_circuit_and_queued_payments_wait_instead_of_failing(
    core: PaymentsCore, service: PaymentService, worker: InProcessWorker, redis: aioredis.Redis
) -> None:
    circuit = core.breakers["card"]
    outage = order_created(token=OUTAGE_CARD)
    await service.on_order_created(outage)
    failed = await wait_status(core, payment_id_of(outage), "FAILED")
    assert len(failed["attempts"]) == core.config.max_provider_tries == core.config.breaker_failure_threshold
    assert await circuit.state() is CircuitState.OPEN

    # While open, a new card payment is deferred (not failed, not dropped); the wallet is unaffected.
    good = order_created(token=SUCCESS_CARD)
    wallet = order_created(provider="wallet", token="wallet_ok")
    await service.on_order_created(good)
    await service.on_order_created(wallet)
    await wait_status(core, payment_id_of(wallet), "SUCCEEDED")
    waiting = await core.store.get(payment_id_of(good))
    assert waiting is not None and waiting["status"] == "PENDING" and waiting["attempts"] == []
    assert await core.job_is_queued(waiting["job_id"])

    # After the cooldown its job is the half-open probe; the success closes the circuit.
    done = await wait_status(core, payment_id_of(good), "SUCCEEDED", within=10)
    assert [a["outcome"] for a in done["attempts"]] == ["SUCCEEDED"]
    assert await circuit.state() is CircuitState.CLOSED
    assert await circuit.times_opened() == 1
