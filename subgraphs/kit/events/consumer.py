"""A consumer group on the event stream: at-least-once delivery made effectively-once.

- an entry is acked only after its handler succeeded;
- entries pending longer than `claim_idle_ms` (their consumer died) are reclaimed with XAUTOCLAIM;
- handled event ids are recorded under a unique `_id` in the service's own database, so a
  redelivered event is acked without running its handler again;
- after `max_deliveries` failed deliveries the entry moves to a dead-letter stream with its error,
  from which `replay_dead_letters` runs it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from pymongo.errors import DuplicateKeyError

from subgraphs.kit.events.bus import EVENTS_STREAM
from subgraphs.kit.events.envelope import Event
from subgraphs.kit.logs import trace_id_var

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerConfig:
    group: str
    stream: str = EVENTS_STREAM
    consumer_name: str = ""
    batch_size: int = 32
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    # Where a brand-new group starts: "0" reads the stream's history (nothing published before the
    # service first started is missed), "$" only what is published from now on.
    start_id: str = "0"

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.stream}:dead:{self.group}"


class EventConsumer:
    def __init__(
        self,
        redis: aioredis.Redis,
        database: Any,
        handlers: Mapping[str, Handler],
        config: ConsumerConfig,
    ) -> None:
        self.redis = redis
        self.handlers = dict(handlers)
        self.config = config
        self.consumer_name = config.consumer_name or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._processed = database["processed_events"]
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(
                self.config.stream, self.config.group, id=self.config.start_id, mkstream=True
            )
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def start(self) -> None:
        await self.ensure_group()
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"event-consumer:{self.config.group}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except aioredis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    log.exception("event consumer %s failed a poll; retrying", self.config.group)
                    await asyncio.sleep(1)
                    continue
                # Redis restarted without its data: the group (and stream) must exist again.
                log.warning("consumer group %s is gone (Redis restarted?); creating it again", self.config.group)
                await self.ensure_group()
            except Exception:
                log.exception("event consumer %s failed a poll; retrying", self.config.group)
                await asyncio.sleep(1)

    async def poll_once(self, block_ms: int | None = None) -> int:
        """Reclaim stale entries, then read new ones; returns how many entries were handled."""
        handled = 0
        # Redis 6.2 answers [cursor, entries]; 7.0 adds the ids of entries deleted meanwhile.
        reclaimed = await self.redis.xautoclaim(
            self.config.stream, self.config.group, self.consumer_name,
            min_idle_time=self.config.claim_idle_ms, start_id="0-0", count=self.config.batch_size,
        )
        for entry_id, fields in reclaimed[1]:
            handled += await self._handle_entry(entry_id, fields)
        response = await self.redis.xreadgroup(
            self.config.group, self.consumer_name, {self.config.stream: ">"},
            count=self.config.batch_size, block=self.config.block_ms if block_ms is None else block_ms,
        )
        for _stream, entries in response or []:
            for entry_id, fields in entries:
                handled += await self._handle_entry(entry_id, fields)
        return handled

    async def _handle_entry(self, entry_id: str, fields: dict[Any, Any] | None) -> int:
        if not fields:  # deleted by MAXLEN trimming while pending
            await self.redis.xack(self.config.stream, self.config.group, entry_id)
            return 0
        try:
            event = Event.from_json(fields["event"])
        except (KeyError, ValueError) as exc:
            await self._dead_letter(entry_id, fields, f"malformed event: {exc}")
            return 0
        handler = self.handlers.get(event.type)
        if handler is None:
            await self.redis.xack(self.config.stream, self.config.group, entry_id)
            return 0
        if await self._processed.find_one({"_id": event.id}, {"_id": 1}):
            await self.redis.xack(self.config.stream, self.config.group, entry_id)
            return 0
        token = trace_id_var.set(event.trace_id or "-")
        try:
            await handler(event)
        except Exception as exc:
            log.warning("handler for %s (%s) failed: %s", event.type, event.id, exc, exc_info=True)
            await self._after_failure(entry_id, fields, exc)
            return 0
        finally:
            trace_id_var.reset(token)
        await self._mark_processed(event)
        await self.redis.xack(self.config.stream, self.config.group, entry_id)
        return 1

    async def _mark_processed(self, event: Event) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self._processed.insert_one(
                {"_id": event.id, "type": event.type, "group": self.config.group, "at": datetime.now(UTC)}
            )

    async def _after_failure(self, entry_id: str, fields: dict[Any, Any], exc: Exception) -> None:
        pending = await self.redis.xpending_range(
            self.config.stream, self.config.group, min=entry_id, max=entry_id, count=1
        )
        deliveries = int(pending[0]["times_delivered"]) if pending else 1
        if deliveries >= self.config.max_deliveries:
            await self._dead_letter(entry_id, fields, f"{exc.__class__.__name__}: {exc}", deliveries)

    async def _dead_letter(self, entry_id: str, fields: dict[Any, Any], error: str, deliveries: int = 1) -> None:
        await self.redis.xadd(
            self.config.dead_letter_stream,
            {**fields, "error": error, "deliveries": str(deliveries), "original_id": entry_id},
        )
        await self.redis.xack(self.config.stream, self.config.group, entry_id)
        log.error("event %s moved to %s after %d deliveries: %s",
                  entry_id, self.config.dead_letter_stream, deliveries, error)

    async def dead_letters(self) -> list[tuple[str, dict[Any, Any]]]:
        return list(await self.redis.xrange(self.config.dead_letter_stream))

    async def replay_dead_letters(self) -> tuple[int, int]:
        """Run every dead-lettered event through its handler again; returns (replayed, still failing).

        Entries that succeed leave the dead-letter stream; failing ones stay with their new error.
        """
        replayed = failed = 0
        for dead_id, fields in await self.dead_letters():
            try:
                event = Event.from_json(fields["event"])
                handler = self.handlers.get(event.type)
                if handler is not None and not await self._processed.find_one({"_id": event.id}, {"_id": 1}):
                    await handler(event)
                    await self._mark_processed(event)
            except Exception as exc:
                failed += 1
                await self.redis.xadd(self.config.dead_letter_stream, {**fields, "error": f"replay: {exc}"})
            else:
                replayed += 1
            await self.redis.xdel(self.config.dead_letter_stream, dead_id)
        return replayed, failed
