"""Catalog cache invalidations that Redis refused, kept in MongoDB until a products instance applies them.

A write invalidates by giving its products (and the catalog) new version tokens in Redis. When that
fails, the writer knows and stops trusting the cache, but every other instance keeps serving the
entries cached before the write: nothing tells them. So the writer records the invalidation here
(MongoDB answered the write a moment ago), and every instance's repair loop applies what is recorded
every `PRODUCTS_CACHE_REPAIR_SECONDS` and deletes it. As soon as Redis answers any instance, the
staleness of every instance is bounded by that interval; while Redis answers none, none reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from subgraphs.kit.clock import utcnow
from subgraphs.kit.liveness import LoopHealth

log = logging.getLogger(__name__)

COLLECTION = "cache_invalidations"
BATCH = 500


class PendingInvalidations:
    """The recorded invalidations: `{_id, product_ids, at}`; `product_ids` empty means the catalog only."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    async def record(self, product_ids: Sequence[str]) -> None:
        await self.collection.insert_one({"_id": uuid.uuid4().hex, "product_ids": list(product_ids), "at": utcnow()})

    async def pending(self) -> list[tuple[str, list[str]]]:
        """(record id, product ids) of up to BATCH records, oldest first."""
        cursor = self.collection.find({}, {"product_ids": 1}).sort("at", 1).limit(BATCH)
        return [(str(doc["_id"]), [str(i) for i in doc.get("product_ids", [])]) async for doc in cursor]

    async def done(self, record_ids: Sequence[str]) -> None:
        await self.collection.delete_many({"_id": {"$in": list(record_ids)}})


class RepairLoop:
    """Runs `repair()` (CatalogCache.repair) every `interval` seconds; its health shows in `/ready`."""

    def __init__(self, repair: Callable[[], Awaitable[int]], interval: float) -> None:
        self.repair = repair
        self.interval = interval
        self.health = LoopHealth("products-cache-repair")
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """One round now (so `/ready` is true as soon as the service is), then one every interval."""
        self.health.starting()
        await self._round()
        self._task = asyncio.create_task(self._run(), name="products-cache-repair")

    async def stop(self) -> None:
        if self._task is None:
            return
        self.health.stopping()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self.health.stopped()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._round()

    async def _round(self) -> None:
        try:
            repaired = await self.repair()
        except Exception as exc:  # Redis or MongoDB unreachable: the records wait for the next round
            self.health.failed(exc)
            log.warning("catalog cache repair failed (%s: %s); retrying", exc.__class__.__name__, exc)
        else:
            self.health.beat()
            if repaired:
                log.info("catalog cache: applied %d invalidation(s) that had failed", repaired)
