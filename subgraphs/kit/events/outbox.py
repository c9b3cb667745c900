"""A transactional outbox without multi-document transactions.

An event is written inside the document it describes (an `outbox` array), in the same single-document
update that changes the document. The relay publishes unpublished entries and then marks them
published. A crash between the write and the publish loses nothing (the entry stays unpublished and is
published later); a crash between the publish and the mark duplicates nothing downstream (publishing is
idempotent per event id, and consumers deduplicate by event id as well).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from subgraphs.kit.events.bus import EventBus
from subgraphs.kit.events.envelope import Event

log = logging.getLogger(__name__)


def outbox_entry(event: Event) -> dict[str, Any]:
    """What to `$push` onto a document's `outbox` array in the same update that changes it."""
    return {"event": event.to_dict(), "published": False}


class OutboxRelay:
    def __init__(self, collections: list[Any], bus: EventBus, interval_seconds: float = 0.5) -> None:
        self.collections = collections
        self.bus = bus
        self.interval_seconds = interval_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Publish soon: call after a write that added an outbox entry."""
        self._wake.set()

    async def start(self) -> None:
        for collection in self.collections:
            await collection.create_index("outbox.published")
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed a round; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_seconds)
            self._wake.clear()

    async def relay_once(self) -> int:
        """Publish every unpublished entry, oldest document first; returns how many were published."""
        published = 0
        for collection in self.collections:
            cursor = collection.find({"outbox": {"$elemMatch": {"published": False}}}, {"outbox": 1})
            async for document in cursor:
                for entry in document.get("outbox", []):
                    if entry.get("published"):
                        continue
                    event = Event.from_dict(entry["event"])
                    await self.bus.publish(event)
                    await collection.update_one(
                        {"_id": document["_id"], "outbox.event.id": event.id},
                        {"$set": {"outbox.$.published": True}},
                    )
                    published += 1
        return published
