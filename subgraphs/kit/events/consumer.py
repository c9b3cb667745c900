"""A consumer group on the event stream: at-least-once delivery made effectively-once.

- an entry is acked only after its handler succeeded;
- entries pending longer than `claim_idle_ms` (their consumer died) are reclaimed with XAUTOCLAIM;
- while a handler runs, its consumer holds a per-event lease and, every quarter of `claim_idle_ms`,
  resets the entry's idle time (`XCLAIM ... JUSTID`) and extends the lease: a handler slower than the
  idle time is not reclaimed, and if it still is (the holder stalled), the reclaiming consumer finds
  the lease taken and leaves the entry alone, so a handler never runs twice at once;
- handled event ids are recorded under a unique `_id` in the service's own database, so a
  redelivered event is acked without running its handler again;
- after `max_deliveries` failed deliveries the entry moves to a dead-letter stream with its error,
  from which `replay_dead_letters` runs it again; so does an entry that cannot be parsed, or that was
  deleted from the stream before it was handled. Every entry is thus handled or dead-lettered.

`health` (a kit LoopHealth, named `consumer:<group>`) reports whether the loop is polling.
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
from subgraphs.kit.events.lease import EventLeases
from subgraphs.kit.events.stats import dead_letter_minid, dead_letter_stream
from subgraphs.kit.indexes import ensure_indexes, ttl
from subgraphs.kit.liveness import LoopHealth
from subgraphs.kit.logs import trace_id_var
from subgraphs.kit.tracing import consuming

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None]]

DELETED = "entry deleted from the stream before it was handled"
MIN_LEASE_MS = 1000
MIN_HEARTBEAT_SECONDS = 0.05


# How long an event id stays in `processed_events` (the consumer's dedupe record).
PROCESSED_RETENTION_SECONDS = 30 * 24 * 3600


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
        return dead_letter_stream(self.stream, self.group)

    @property
    def lease_ms(self) -> int:
        return max(self.claim_idle_ms, MIN_LEASE_MS)

    @property
    def heartbeat_seconds(self) -> float:
        return max(self.claim_idle_ms / 4000, MIN_HEARTBEAT_SECONDS)


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
        self._leases = EventLeases(redis, f"{config.stream}:lease:{config.group}", self.consumer_name, config.lease_ms)
        self.health = LoopHealth(f"consumer:{config.group}")
        self.heartbeats = 0

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
        # Dedupe records outlive the stream's publish markers (7 days) and any dead letter worth replaying.
        await ensure_indexes(self._processed, [ttl("at", PROCESSED_RETENTION_SECONDS, "processed_ttl")])
        self._stopping.clear()
        self.health.beat()
        self._task = asyncio.create_task(self._run(), name=f"event-consumer:{self.config.group}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.health.stopped()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failed(exc)
                if isinstance(exc, aioredis.ResponseError) and "NOGROUP" in str(exc):
                    # Redis restarted without its data: the group (and stream) must exist again.
                    log.warning("consumer group %s is gone (Redis restarted?); creating it again", self.config.group)
                    with contextlib.suppress(Exception):
                        await self.ensure_group()
                    continue
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
        deleted = [str(entry_id) for entry_id in reclaimed[2]] if len(reclaimed) > 2 else []
        for entry_id, fields in reclaimed[1]:
            if entry_id is None:  # Redis 6.2: a pending entry deleted from the stream comes back as nil
                deleted += await self._deleted_pending()
                continue
            handled += await self._handle_entry(entry_id, fields)
        for entry_id in dict.fromkeys(deleted):
            await self._dead_letter(entry_id, {}, DELETED)
        response = await self.redis.xreadgroup(
            self.config.group, self.consumer_name, {self.config.stream: ">"},
            count=self.config.batch_size, block=self.config.block_ms if block_ms is None else block_ms,
        )
        for _stream, entries in response or []:
            for entry_id, fields in entries:
                handled += await self._handle_entry(entry_id, fields)
        self.health.beat()
        return handled

    async def _deleted_pending(self) -> list[str]:
        """Ids pending for this consumer whose entry is gone from the stream (XDEL'd by someone)."""
        rows = await self.redis.xpending_range(self.config.stream, self.config.group, min="-", max="+",
                                               count=self.config.batch_size, consumername=self.consumer_name)
        gone = []
        for row in rows:
            entry_id = str(row["message_id"])
            if not await self.redis.xrange(self.config.stream, entry_id, entry_id, count=1):
                gone.append(entry_id)
        return gone

    async def _handle_entry(self, entry_id: str, fields: dict[Any, Any] | None) -> int:
        self.health.beat()
        if not fields:
            await self._dead_letter(entry_id, {}, DELETED)
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
        if not await self._leases.acquire(event.id):
            # Another consumer of the group is running this handler right now (it reclaimed the entry
            # from us, or we from it): it acks the entry when done, or its lease expires if it dies.
            log.info("event %s (%s) is being handled by another %s consumer (%s); leaving it",
                     event.id, event.type, self.config.group, await self._leases.holder(event.id))
            return 0
        keeper = asyncio.create_task(self._keep_claim(entry_id, event.id), name=f"claim:{entry_id}")
        try:
            # Checked under the lease: a holder marks the event processed before it lets the lease go.
            if await self._processed.find_one({"_id": event.id}, {"_id": 1}):
                await self.redis.xack(self.config.stream, self.config.group, entry_id)
                return 0
            failure = await self._run_handler(handler, event)
            if failure is not None:
                await self._after_failure(entry_id, fields, failure)
                return 0
            await self._mark_processed(event)
            await self.redis.xack(self.config.stream, self.config.group, entry_id)
            return 1
        finally:
            await self._stop_keeping(keeper, event.id)

    @staticmethod
    async def _run_handler(handler: Handler, event: Event) -> Exception | None:
        token = trace_id_var.set(event.trace_id or "-")
        try:
            with consuming(event.type, event.id, event.source, event.trace_carrier()):
                await handler(event)
        except Exception as exc:
            log.warning("handler for %s (%s) failed: %s", event.type, event.id, exc, exc_info=True)
            return exc
        finally:
            trace_id_var.reset(token)
        return None

    async def _keep_claim(self, entry_id: str, event_id: str) -> None:
        """While the handler runs: reset the entry's idle time and extend the lease."""
        while True:
            await asyncio.sleep(self.config.heartbeat_seconds)
            try:
                await self.redis.xclaim(self.config.stream, self.config.group, self.consumer_name,
                                        min_idle_time=0, message_ids=[entry_id], justid=True)
                if not await self._leases.refresh(event_id):
                    log.error("lost the lease on event %s of %s while handling it (this consumer stalled longer "
                              "than %d ms); another consumer may run it too", event_id, self.config.group,
                              self.config.lease_ms)
            except Exception as exc:  # Redis trouble: the next beat tries again
                log.warning("could not extend the claim on %s: %s", entry_id, exc)
            self.heartbeats += 1
            self.health.beat()

    async def _stop_keeping(self, keeper: asyncio.Task[None], event_id: str) -> None:
        keeper.cancel()
        await asyncio.wait([keeper])
        try:
            await self._leases.release(event_id)
        except Exception as exc:  # it expires on its own
            log.warning("could not release the lease on event %s: %s", event_id, exc)

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
            minid=dead_letter_minid(), approximate=False,
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
                await self.redis.xadd(self.config.dead_letter_stream, {**fields, "error": f"replay: {exc}"},
                                      minid=dead_letter_minid(), approximate=False)
            else:
                replayed += 1
            await self.redis.xdel(self.config.dead_letter_stream, dead_id)
        return replayed, failed
