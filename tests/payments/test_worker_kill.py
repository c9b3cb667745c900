"""A real `arq subgraphs.payments.worker.WorkerSettings` process is SIGKILLed mid-charge; the customer
is charged once.

What it proves: the job stays on the arq queue when its worker dies, a second worker process runs it
again once arq's in-progress lock expires (job timeout + 10 s), and the provider, asked again with the
same idempotency key, replays the first charge instead of charging twice; the outcome event is
published once. The worker processes and the test share this test's databases on the session's
MongoDB server (payments, and the provider's books, which stand for a remote system); without a
server to share, the test is skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from arq.jobs import Job, JobStatus

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.domain import idempotency_key_for
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import EVERYTHING_STALE, SLOW_CARD, order_created, payment_id_of, published
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for

pytestmark = pytest.mark.slow

ARQ = str(Path(sys.executable).with_name("arq"))


class WorkerProcesses:
    def __init__(self, redis_url: str, log_dir: Path, mongo: TestMongo) -> None:
        self.env = os.environ | mongo.env("payments") | {
            "PAYMENTS_PROVIDER_LEDGER_DATABASE": mongo.name("provider_ledger"),
            "REDIS_URL": redis_url,
            "PAYMENTS_JOB_TIMEOUT": "2",
            "PAYMENTS_PROVIDER_TIMEOUT": "1.5",
            "PAYMENTS_SLOW_CHARGE_SECONDS": "1.0",
            "PAYMENTS_POLL_DELAY": "0.05",
            "PAYMENTS_RECONCILE_INTERVAL": "3600",
            "LOG_LEVEL": "INFO",
        }
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen([ARQ, "subgraphs.payments.worker.WorkerSettings"], env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2])
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def workers(redis_url: str, tmp_path: Path, mongo: TestMongo) -> Iterator[WorkerProcesses]:
    if not mongo.real:
        pytest.skip("the worker processes need a MongoDB server to share (payments and the provider's books)")
    processes = WorkerProcesses(redis_url, tmp_path, mongo)
    yield processes
    processes.stop_all()


async def test_a_worker_killed_mid_charge_is_replaced_and_the_customer_is_charged_once(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, workers: WorkerProcesses
) -> None:
    event = order_created(token=SLOW_CARD, amount=5400)
    await service.on_order_created(event)
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None
    job_id, key = payment["job_id"], idempotency_key_for(payment["_id"], 1)
    ledger = core.providers.get("card").ledger  # type: ignore[attr-defined]

    first = workers.start("worker-a")

    async def charged() -> bool:
        return await ledger.lookup(key) is not None

    # The provider has charged; its (slow) answer has not reached the worker yet.
    await wait_for(charged, timeout=30, message=f"worker A to charge\n{workers.log('worker-a')}")
    original = await ledger.lookup(key)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    assert await redis.zscore(core.config.queue_name, job_id) is not None, "the job must still be queued"
    assert await redis.exists(f"arq:in-progress:{job_id}"), "arq still thinks it runs"
    assert await published(redis, core, "payment.processed") == []

    workers.start("worker-b")
    job = Job(job_id, redis=core.queue, _queue_name=core.config.queue_name)

    async def finished() -> bool:
        return await job.status() is JobStatus.complete

    await wait_for(finished, timeout=40, interval=0.2, message=f"worker B to re-run the job\n{workers.log('worker-b')}")
    info = await job.result_info()
    assert info is not None and info.success and info.result == "succeeded" and info.job_try == 2

    assert await ledger.charge_count() == 1
    replayed = await ledger.lookup(key)
    assert replayed is not None and original is not None and replayed.reference == original.reference
    [processed] = await published(redis, core, "payment.processed")
    assert processed["data"]["provider_reference"] == original.reference and processed["data"]["amount"] == 5400

    settled = await core.store.get(payment["_id"])
    assert settled is not None and settled["status"] == "SUCCEEDED"
    assert settled["provider_reference"] == original.reference and settled["attempt"] == 1
    # Nothing left to repair; the deterministic event id keeps the event single on the bus.
    report = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
    assert report.settled_from_ledger == [] and report.requeued == []
    assert len(await published(redis, core, "payment.processed")) == 1
    assert await ledger.charge_count() == 1
