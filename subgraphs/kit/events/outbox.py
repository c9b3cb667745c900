"""A transactional outbox without multi-document transactions.

An event is written inside the document it describes (an `outbox` array), in the same single-document
update that changes the document. The relay publishes unpublished entries and then marks them
published. A crash between the write and the publish loses nothing (the entry stays unpublished and is
published later); a crash between the publish and the mark duplicates nothing downstream (publishing is
idempotent per event id, and consumers deduplicate by event id as well).

An entry that can never be published (not an event, a field missing, data that is not JSON) is a
poison entry: it is copied to the dead-letter stream `events:dead:outbox` with the collection, the
document id, its index and the reason, marked `dead_letter: {error, at, stream_id}` in the document
(so it is not tried again), and the relay goes on with the next entries and documents.

Redis may come back empty (a restart without persistence, a failover that lost writes): entries it
had been handed are gone, for every group. Each relay keeps an epoch key per collection set in Redis;
when the key is missing, Redis lost its data, and the first relay to see that publishes the published
entries its documents still keep (`PUBLISHED_RETENTION_SECONDS`) again. Consumers deduplicate by event
id (`processed_events`, in MongoDB), so what they had handled is skipped and what was lost is handled.

After a round that published something the relay runs the stream's retention (`retention.py`).
Once an hour it empties the outbox of documents whose entries are all published and older than
`PUBLISHED_RETENTION_SECONDS` (a document with an unpublished or poison entry keeps its outbox).
`health` (`relay:<collections>`) reports whether its loop is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from subgraphs.kit.events.bus import EventBus
from subgraphs.kit.events.envelope import Event
from subgraphs.kit.events.retention import StreamRetention
from subgraphs.kit.events.stats import dead_letter_minid, outbox_dead_letter_stream
from subgraphs.kit.liveness import LoopHealth
from subgraphs.kit.metrics import observe_relay_lag

log = logging.getLogger(__name__)


def outbox_entry(event: Event) -> dict[str, Any]:
    """What to `$push` onto a document's `outbox` array in the same update that changes it."""
    return {"event": event.to_dict(), "published": False}


# Published entries are kept this long (as long as the bus's publish markers), then pruned.
PUBLISHED_RETENTION_SECONDS = 7 * 24 * 3600
PRUNE_INTERVAL_SECONDS = 3600.0

# What an unpublished entry looks like; poison entries carry `dead_letter` and are left alone.
UNPUBLISHED = {"published": False, "dead_letter": {"$exists": False}}
# What parsing or serialising a malformed entry raises.
_POISON = (KeyError, TypeError, ValueError, AttributeError)


class OutboxRelay:
    def __init__(
        self,
        collections: list[Any],
        bus: EventBus,
        interval_seconds: float = 0.5,
        retention: StreamRetention | None = None,
    ) -> None:
        self.collections = collections
        self.bus = bus
        self.interval_seconds = interval_seconds
        self.retention = retention or StreamRetention(bus.redis, bus.stream)
        self.health = LoopHealth("relay:" + ",".join(str(getattr(c, "name", c)) for c in collections))
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._next_prune = 0.0
        self._epoch_key = f"{bus.stream}:epoch:" + ",".join(str(getattr(c, "name", c)) for c in collections)

    def notify(self) -> None:
        """Publish soon: call after a write that added an outbox entry."""
        self._wake.set()

    async def start(self) -> None:
        for collection in self.collections:
            await collection.create_index("outbox.published")
        self.health.beat()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Cancel the loop and wait for it. The flag is what makes this certain: on Python 3.11
        `asyncio.wait_for` swallows a cancellation that lands as the awaited event fires (a `notify()`
        just before `stop()`), and the loop would run on while stop() waits for it forever."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.health.stopped()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.relay_once()
                if time.monotonic() >= self._next_prune:
                    self._next_prune = time.monotonic() + PRUNE_INTERVAL_SECONDS
                    await self.prune_published()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failed(exc)
                log.exception("outbox relay failed a round; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_seconds)
            self._wake.clear()

    async def relay_once(self) -> int:
        """Publish every unpublished entry, oldest document first; returns how many were published.

        A poison entry is dead-lettered and skipped; a Redis or Mongo error ends the round (the next
        round starts over, and publishing again is idempotent)."""
        published = 0
        if await self._redis_lost_its_data():
            await self.republish_retained()
        for collection in self.collections:
            cursor = collection.find({"outbox": {"$elemMatch": UNPUBLISHED}}, {"outbox": 1})
            async for document in cursor:
                published += await self._relay_document(collection, document)
                self.health.beat()
        self.health.beat()
        if published:
            await self.retention.maybe_run()
        return published

    async def _redis_lost_its_data(self) -> bool:
        """True for the one relay that finds the epoch key missing (set it, and it is missing only after
        Redis lost its data, or on the very first start, when there is nothing to republish)."""
        return bool(await self.bus.redis.set(self._epoch_key, datetime.now(UTC).isoformat(), nx=True))

    async def republish_retained(self) -> int:
        """Publish again every published entry still kept in the documents (after Redis lost the stream)."""
        republished = 0
        for collection in self.collections:
            async for document in collection.find({"outbox.published": True}, {"outbox": 1}):
                for entry in document.get("outbox") or []:
                    if not isinstance(entry, dict) or entry.get("published") is not True:
                        continue
                    with contextlib.suppress(*_POISON):
                        if await self.bus.publish(Event.from_dict(entry["event"])) is not None:
                            republished += 1
                self.health.beat()
        if republished:
            log.warning("Redis lost its data: published %d retained outbox entries again (consumers skip what "
                        "they had handled)", republished)
        return republished

    async def prune_published(self, now: datetime | None = None) -> int:
        """Empty the outbox of documents whose entries are all published and older than the retention;
        returns how many documents were pruned. A concurrent append either keeps the document out of
        the filter or lands on the emptied array, so nothing unpublished is ever removed."""
        cutoff = ((now or datetime.now(UTC)) - timedelta(seconds=PUBLISHED_RETENTION_SECONDS))
        occurred_before = cutoff.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        # No entry unpublished (or poison), and no entry as recent as the cutoff.
        prunable = {"outbox.0": {"$exists": True},
                    "outbox": {"$not": {"$elemMatch": {"published": {"$ne": True}}}},
                    "outbox.event.occurred_at": {"$not": {"$gte": occurred_before}}}
        pruned = 0
        for collection in self.collections:
            result = await collection.update_many(prunable, {"$set": {"outbox": []}})
            pruned += int(result.modified_count)
        if pruned:
            log.info("pruned the published outbox entries of %d documents", pruned)
        return pruned

    async def _relay_document(self, collection: Any, document: dict[str, Any]) -> int:
        published = 0
        # Outbox arrays are only appended to (and emptied only when all is published), so an index
        # names one entry while it is unpublished.
        for index, entry in enumerate(document.get("outbox") or []):
            if not isinstance(entry, dict) or entry.get("published") is not False or "dead_letter" in entry:
                continue
            try:
                event = Event.from_dict(entry["event"])
                event.to_json()
            except _POISON as exc:
                await self._dead_letter(collection, document["_id"], index, entry, f"{exc.__class__.__name__}: {exc}")
                continue
            await self.bus.publish(event)
            observe_relay_lag(str(getattr(collection, "name", collection)), event.occurred_at)
            await collection.update_one(
                {"_id": document["_id"], f"outbox.{index}.event.id": event.id},
                {"$set": {f"outbox.{index}.published": True}},
            )
            published += 1
        return published

    async def _dead_letter(self, collection: Any, document_id: Any, index: int, entry: dict[str, Any],
                           error: str) -> None:
        stream = outbox_dead_letter_stream(self.bus.stream)
        name = str(getattr(collection, "name", collection))
        stream_id = await self.bus.redis.xadd(stream, {
            "collection": name,
            "document_id": str(document_id),
            "index": str(index),
            "entry": orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode(),
            "error": error,
        }, minid=dead_letter_minid(), approximate=False)
        await collection.update_one(
            {"_id": document_id, f"outbox.{index}.published": False},
            {"$set": {f"outbox.{index}.dead_letter": {"error": error, "at": datetime.now(UTC),
                                                      "stream_id": str(stream_id)}}},
        )
        log.error("outbox entry %d of %s %s can never be published (%s); moved to %s",
                  index, name, document_id, error, stream)
