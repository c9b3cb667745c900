"""Payments processed per second through the arq "payments" queue, with 1 and 2 worker processes.

`python -m bench.payments.run` starts one private redis-server and, per configuration, 1 or 2 real
`arq subgraphs.payments.worker.WorkerSettings` processes (each with its own in-memory MongoDB, as
MONGODB_URL is unset; every job carries the payment it charges, so any worker can run any job).
A run enqueues JOBS payments (success test card) at once and measures until the last
`payment.processed` event is on the bus: queue pick-up, breaker check, provider call with its
ledger (MongoDB), conditional Mongo updates and the outbox publish. Each configuration is measured RUNS
times, each run on freshly started workers after a warm-up (mongomock has no real indexes: every query
scans the collection, so a worker that kept its data would slow down run after run); the median is
reported, with the 2/1 ratio. Results are printed as a table
and written to var/bench/payments.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from arq.connections import ArqRedis

from subgraphs.kit.embedded_redis import EmbeddedRedis
from subgraphs.kit.events.types import OrderCreated
from subgraphs.kit.queue import queue_pool
from subgraphs.payments.components import PROCESS_PAYMENT
from subgraphs.payments.config import QUEUE_NAME
from subgraphs.payments.documents import job_spec, new_payment

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "var" / "bench" / "payments.json"
JOBS = int(os.environ.get("BENCH_PAYMENTS_JOBS", "200"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WORKER_COUNTS = (1, 2)
MAX_JOBS_PER_WORKER = 20
ARQ = str(Path(sys.executable).with_name("arq"))
RUN_TIMEOUT_SECONDS = 60.0


def _start_workers(count: int, redis_url: str) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URL"} | {
        "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "PAYMENTS_POLL_DELAY": "0.02",
        "PAYMENTS_MAX_JOBS": str(MAX_JOBS_PER_WORKER), "PAYMENTS_RECONCILE_INTERVAL": "3600",
    }
    return [subprocess.Popen([ARQ, "subgraphs.payments.worker.WorkerSettings"], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]


def _stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _enqueue(pool: ArqRedis, count: int) -> None:
    for _ in range(count):
        order_id = str(uuid.uuid4())
        order = OrderCreated(order_id=order_id, order_number="SO-BENCH", user_id="bench", total_amount=1999,
                             currency="EUR", lines=[], payment_provider="card", payment_token="pm_card_visa")
        payment = new_payment(order, datetime.now(UTC))
        await pool.enqueue_job(PROCESS_PAYMENT, payment["_id"], 1, job_spec(payment), _job_id=payment["job_id"],
                               _queue_name=QUEUE_NAME)


async def _processed(redis: aioredis.Redis) -> int:
    return int(await redis.xlen("events"))


async def _one_run(pool: ArqRedis, redis: aioredis.Redis, jobs: int) -> float:
    """Seconds from the first enqueue until `jobs` more payment.processed events are on the bus."""
    before = await _processed(redis)
    started = time.perf_counter()
    await _enqueue(pool, jobs)
    deadline = started + RUN_TIMEOUT_SECONDS
    while await _processed(redis) < before + jobs:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {await _processed(redis) - before} of {jobs} payments in {RUN_TIMEOUT_SECONDS}s")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def _fresh_run(workers: int, redis_url: str) -> float:
    """One measured run on freshly started workers: the in-memory Mongo (mongomock) scans its collection
    on every query, so a long-lived worker would measure that scan growing, not the queue."""
    processes = _start_workers(workers, redis_url)
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    pool = await queue_pool(redis_url)
    try:
        await _one_run(pool, redis, 10 * workers)  # warm-up: every worker started and connected
        return await _one_run(pool, redis, JOBS)
    finally:
        await pool.aclose()
        await redis.aclose()
        _stop_workers(processes)


async def _measure(workers: int, redis_url: str) -> dict[str, Any]:
    seconds = [await _fresh_run(workers, redis_url) for _ in range(RUNS)]
    rates = [JOBS / s for s in seconds]
    return {"workers": workers, "runs_seconds": [round(s, 3) for s in seconds],
            "payments_per_second_runs": [round(r, 1) for r in rates],
            "payments_per_second_median": round(statistics.median(rates), 1)}


async def _bench() -> dict[str, Any]:
    server = EmbeddedRedis().start()
    try:
        results = [await _measure(count, server.url) for count in WORKER_COUNTS]
    finally:
        server.stop()
    one, two = (r["payments_per_second_median"] for r in results)
    return {
        "benchmark": "payments processed per second through the arq queue",
        "mode": "arq worker processes (`arq subgraphs.payments.worker.WorkerSettings`), in-memory Mongo each, "
                "fresh workers per run",
        "jobs_per_run": JOBS, "runs": RUNS, "max_jobs_per_worker": MAX_JOBS_PER_WORKER,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": results, "ratio_2_over_1": round(two / one, 2) if one else None,
    }


def main() -> int:
    report = asyncio.run(_bench())
    print(f"payments through the queue: {JOBS} payments per run, median of {RUNS} runs")
    print(f"{'workers':>8} {'payments/s':>12}   runs (payments/s)")
    for row in report["results"]:
        runs = ", ".join(f"{r:.0f}" for r in row["payments_per_second_runs"])
        print(f"{row['workers']:>8} {row['payments_per_second_median']:>12.1f}   {runs}")
    print(f"ratio 2/1: {report['ratio_2_over_1']}")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
