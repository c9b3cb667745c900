"""Samples of the system while the load runs, once per interval, on a thread of its own.

Queue depth: each arq queue is a sorted set in Redis (score = when a job may run), so ZCARD is every
queued job and ZCOUNT up to now the ones due (orders' hold-expiry jobs are deferred by design). Consumer
lag and pending per group come from a service's `/events/stats`. CPU per process from /proc (Linux),
to tell what limited throughput; the load average, because the machine may be shared.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import redis

from bench.loadtest.background import Background
from subgraphs.notifications.model import QUEUE_NAME as NOTIFICATIONS_QUEUE
from subgraphs.orders.queue import ORDERS_QUEUE
from subgraphs.payments.config import QUEUE_NAME as PAYMENTS_QUEUE

QUEUES = {"payments": PAYMENTS_QUEUE, "notifications": NOTIFICATIONS_QUEUE, "orders": ORDERS_QUEUE}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Sample:
    t: float  # seconds since the load started
    queued: dict[str, int]  # queue -> jobs in it
    due: dict[str, int]  # queue -> jobs whose time has come (waiting for a worker)
    lag: dict[str, int]  # group -> entries not delivered yet
    pending: dict[str, int]  # group -> delivered, not acknowledged
    cpu: dict[str, float]  # process -> CPU % over the last interval (100 = one core)
    load1: float


@dataclass
class Sampler(Background):
    redis_url: str
    stats_url: str  # a service's /events/stats
    pids: dict[str, int]  # process name -> pid, for CPU
    interval: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0
    _started: float = 0.0

    def start(self, started: float) -> Sampler:
        self._started = started
        self._spawn("loadtest-sampler")
        return self

    def _run(self) -> None:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        http = httpx.Client(timeout=2)
        last_cpu = _cpu_seconds(self.pids)
        last_at = time.monotonic()
        try:
            while not self._stop.wait(self.interval):
                now = time.monotonic()
                cpu = _cpu_seconds(self.pids)
                elapsed = max(now - last_at, 1e-6)
                usage = {name: round(100 * (cpu[name] - last_cpu.get(name, cpu[name])) / elapsed, 1) for name in cpu}
                last_cpu, last_at = cpu, now
                try:
                    self.samples.append(self._sample(client, http, now, usage))
                except (redis.RedisError, httpx.HTTPError, ValueError, KeyError):
                    self.errors += 1
        finally:
            client.close()
            http.close()

    def _sample(self, client: redis.Redis, http: httpx.Client, now: float, cpu: dict[str, float]) -> Sample:
        due_before = int(time.time() * 1000)
        queued = {name: int(cast(int, client.zcard(key))) for name, key in QUEUES.items()}
        due = {name: int(cast(int, client.zcount(key, "-inf", due_before))) for name, key in QUEUES.items()}
        groups: dict[str, Any] = http.get(self.stats_url).json()["groups"]
        return Sample(t=round(now - self._started, 2), queued=queued, due=due,
                      lag={g: int(s["lag"]) for g, s in groups.items()},
                      pending={g: int(s["pending"]) for g, s in groups.items()}, cpu=cpu,
                      load1=os.getloadavg()[0])


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """utime + stime of each process (its children not included); processes that are gone are left out."""
    found: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[name] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found
