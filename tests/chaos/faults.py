"""Injecting the plan's process faults into a running stack, and supervising it meanwhile.

- kill: SIGKILL one process (a service or a worker), leave it down for a while, start it again;
- redis_restart: stop the stack's private redis-server and start it again on the same port, empty
  (it keeps no data on disk, like a cache node that lost its memory);
- duplicate_events: copy already-published entries of the `events` stream to its end, so consumers
  see them again, out of order.

The supervisor notices processes that exit on their own (not killed by the plan): it records them,
since a process that dies is a finding, and starts them again, as a real supervisor would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import redis.asyncio as aioredis

from subgraphs.kit.events.bus import EVENTS_STREAM
from tests.chaos.plan import Fault, Plan

log = logging.getLogger(__name__)

SUPERVISE_INTERVAL_SECONDS = 0.5
DUPLICATE_WINDOW = 300  # copies are taken from the last entries of the stream


class ControlledStack(Protocol):
    """What the injector needs of `scripts.stack.Stack`."""

    processes: list[tuple[str, Any]]
    redis: Any

    def kill(self, name: str) -> None: ...

    def restart(self, name: str, timeout: float = 60) -> None: ...


@dataclass
class Exit:
    process: str
    code: int | None


@dataclass
class FaultLog:
    injected: Counter[str] = field(default_factory=Counter)
    unexpected_exits: list[Exit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # faults that could not be injected, and why
    timeline: list[str] = field(default_factory=list)  # "<UTC time> <what happened>", for the logs

    def note(self, what: str) -> None:
        self.timeline.append(f"{datetime.now(UTC).isoformat(timespec='milliseconds')} {what}")


class FaultInjector:
    def __init__(self, stack: ControlledStack, plan: Plan, redis_url: str) -> None:
        self.stack = stack
        self.plan = plan
        self.redis_url = redis_url
        self.log = FaultLog()
        self._by_order: dict[int, list[Fault]] = defaultdict(list)
        for fault in plan.faults:
            self._by_order[fault.at_order].append(fault)
        self._tasks: list[asyncio.Task[None]] = []
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._stack_lock = asyncio.Lock()  # Stack's process table is not thread-safe
        self._down: set[str] = set()  # processes the plan has taken down right now
        self._supervisor: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name="chaos-supervisor")

    async def on_order_start(self, index: int) -> None:
        """The workload's hook: fire the faults planned at this order (they run in the background)."""
        for fault in self._by_order.pop(index, []):
            self._tasks.append(asyncio.create_task(self._inject(fault), name=f"fault-{fault.kind}-{index}"))

    async def stop(self) -> None:
        """Wait for every fault in progress to end (everything is up again), then stop supervising."""
        for fault_list in self._by_order.values():  # planned past the last order: fire them now
            for fault in fault_list:
                self._tasks.append(asyncio.create_task(self._inject(fault)))
        self._by_order.clear()
        await asyncio.gather(*self._tasks)
        await self._check_processes()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor

    async def _inject(self, fault: Fault) -> None:
        try:
            if fault.kind == "kill":
                await self._kill(fault.target, fault.down_seconds)
            elif fault.kind == "redis_restart":
                await self._restart_redis(fault.down_seconds)
            elif fault.kind == "duplicate_events":
                await self._duplicate_events(fault)
        except Exception as exc:
            log.exception("could not inject %s", fault)
            self.log.errors.append(f"{fault.kind} {fault.target}: {exc!r}")

    async def _kill(self, name: str, down_seconds: float) -> None:
        async with self._locks[name]:
            self._down.add(name)
            try:
                async with self._stack_lock:
                    await asyncio.to_thread(self.stack.kill, name)
                self.log.injected[f"kill {name}"] += 1
                self.log.note(f"SIGKILL {name}")
                await asyncio.sleep(down_seconds)
                async with self._stack_lock:
                    await asyncio.to_thread(self.stack.restart, name)
                self.log.note(f"{name} started again")
            finally:
                self._down.discard(name)

    async def _restart_redis(self, down_seconds: float) -> None:
        redis = self.stack.redis
        if redis is None:
            self.log.errors.append("redis_restart: the stack does not own its Redis (REDIS_URL was given)")
            return
        async with self._locks["redis"]:
            await asyncio.to_thread(redis.stop)
            self.log.injected["redis restart"] += 1
            self.log.note("Redis stopped")
            await asyncio.sleep(down_seconds)
            await asyncio.to_thread(redis.start)
            self.log.note("Redis started again (empty)")

    async def _duplicate_events(self, fault: Fault) -> None:
        rng = random.Random(f"{self.plan.seed}\x1fduplicate\x1f{fault.at_order}")
        client = aioredis.Redis.from_url(self.redis_url, decode_responses=True, socket_timeout=5)
        try:
            entries = await client.xrevrange(EVENTS_STREAM, count=DUPLICATE_WINDOW)
            if not entries:
                return
            picked = [entries[rng.randrange(len(entries))] for _ in range(fault.count)]
            for _entry_id, fields in picked:
                await client.xadd(EVENTS_STREAM, {"type": fields.get("type", ""), "event": fields.get("event", "")})
                self.log.injected["duplicate event"] += 1
            self.log.note(f"re-added {len(picked)} events: {[e for e, _ in picked]}")
        except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:  # Redis is restarting right now
            self.log.errors.append(f"duplicate_events at order {fault.at_order}: Redis unreachable ({exc})")
        finally:
            await client.aclose()

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(SUPERVISE_INTERVAL_SECONDS)
            try:
                await self._check_processes()
            except Exception:
                log.exception("supervising the stack failed")

    async def _check_processes(self) -> None:
        async with self._stack_lock:
            exited = [(name, process.returncode) for name, process in self.stack.processes
                      if name not in self._down and process.poll() is not None]
        for name, code in exited:
            if self._locks[name].locked():
                continue  # being killed or restarted by the plan right now
            log.warning("%s exited by itself (code %s): starting it again", name, code)
            self.log.unexpected_exits.append(Exit(name, code))
            self.log.note(f"{name} exited by itself (code {code}); starting it again")
            async with self._locks[name], self._stack_lock:
                await asyncio.to_thread(self.stack.restart, name)
