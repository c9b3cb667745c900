"""Live order status: every change goes to a per-order Redis Stream keyed by the order's version.

The stream entry id is `<version>-0`, so an entry is written at most once per version (Redis refuses
an id not above the last one) and a reader resumes from any version. Mongo stays the source of truth:
a change whose stream write was lost (process died between the two) is read back from the order's
timeline by `status_feed`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from subgraphs.kit.clock import as_utc
from subgraphs.orders.domain import FINAL_STATUSES, OrderStatus
from subgraphs.orders.store import Document

log = logging.getLogger(__name__)

STREAM_TTL_SECONDS = 7 * 24 * 3600
FINISHED_STREAM_TTL_SECONDS = 24 * 3600


def stream_key(order_id: str) -> str:
    return f"order-status:{order_id}"


@dataclass(frozen=True)
class StatusChange:
    order_id: str
    version: int
    status: OrderStatus
    previous: OrderStatus | None
    reason: str | None
    at: datetime

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_timeline(cls, order_id: str, entry: Document) -> StatusChange:
        previous = entry.get("from")
        return cls(
            order_id=order_id,
            version=int(entry["version"]),
            status=OrderStatus(entry["to"]),
            previous=OrderStatus(previous) if previous else None,
            reason=entry.get("reason"),
            at=as_utc(entry["at"]),
        )

    def to_fields(self) -> dict[Any, Any]:
        return {
            "version": str(self.version),
            "status": self.status.value,
            "previous": self.previous.value if self.previous else "",
            "reason": self.reason or "",
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_fields(cls, order_id: str, fields: dict[str, Any]) -> StatusChange:
        return cls(
            order_id=order_id,
            version=int(fields["version"]),
            status=OrderStatus(fields["status"]),
            previous=OrderStatus(fields["previous"]) if fields.get("previous") else None,
            reason=fields.get("reason") or None,
            at=datetime.fromisoformat(fields["at"]),
        )


class StatusStream:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def append(self, change: StatusChange) -> None:
        """Best effort: a lost entry is recovered from Mongo by readers, so failures are only logged."""
        key = stream_key(change.order_id)
        try:
            await self.redis.xadd(key, change.to_fields(), id=f"{change.version}-0")
            ttl = FINISHED_STREAM_TTL_SECONDS if change.is_final else STREAM_TTL_SECONDS
            await self.redis.expire(key, ttl)
        except aioredis.ResponseError as exc:
            # The id is not above the stream's top: this version (or a later one) is already there.
            log.debug("status %s v%d of order %s already streamed: %s",
                      change.status.value, change.version, change.order_id, exc)
        except aioredis.RedisError as exc:
            log.warning("could not stream status v%d of order %s: %s", change.version, change.order_id, exc)

    async def read_after(self, order_id: str, version: int, block_ms: int) -> list[StatusChange]:
        """Changes with a version above `version`, waiting up to `block_ms` for the first one."""
        response = await self.redis.xread({stream_key(order_id): f"{version}-0"}, count=32, block=block_ms)
        changes: list[StatusChange] = []
        for _key, entries in response or []:
            for _entry_id, fields in entries:
                try:
                    changes.append(StatusChange.from_fields(order_id, fields))
                except (KeyError, ValueError) as exc:
                    log.warning("skipping a malformed status entry of order %s: %s", order_id, exc)
        return changes


def timeline_changes(order: Document, after_version: int) -> list[StatusChange]:
    return [
        StatusChange.from_timeline(order["_id"], entry)
        for entry in order.get("timeline", [])
        if int(entry["version"]) > after_version
    ]


def current_change(order: Document) -> StatusChange:
    """The order's present status as a change event (its latest timeline entry)."""
    return StatusChange.from_timeline(order["_id"], order["timeline"][-1])


async def status_feed(
    order: Document,
    after: int | None,
    stream: StatusStream,
    reload: Callable[[], Awaitable[Document | None]],
    block_ms: int = 2000,
) -> AsyncIterator[StatusChange]:
    """The current status (or every change after `after`), then each new change until a final status.

    Versions are yielded strictly increasing and without gaps: entries missing from the stream are
    filled from the order's timeline in Mongo, which is also polled whenever the stream stays quiet.
    """
    order_id: str = order["_id"]
    initial = [current_change(order)] if after is None else timeline_changes(order, after)
    last = after if after is not None else 0
    for change in initial:
        yield change
        last = change.version
    if OrderStatus(order["status"]) in FINAL_STATUSES:
        return
    last = max(last, int(order["version"]))
    while True:
        changes = await stream.read_after(order_id, last, block_ms)
        if not changes or changes[0].version > last + 1:
            latest = await reload()
            if latest is not None:
                missing = timeline_changes(latest, last)
                if changes:
                    missing = [c for c in missing if c.version < changes[0].version]
                changes = missing + changes
        for change in changes:
            if change.version <= last:
                continue
            yield change
            last = change.version
            if change.is_final:
                return
