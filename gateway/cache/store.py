"""The cache's Redis layout, shared by every gateway instance.

- One hash per entity, `<prefix>e:<subgraph>:<type>:<key JSON>`: a field per variant (selection hash
  and scope), so one invalidation drops all of them. An entry is `<expires ms>:<fetch started ms>:<JSON>`;
  an invalidation leaves the field `#inv` (its time) in place, and an entry whose fetch started before
  it is ignored: a fetch that raced the invalidation cannot store stale data that is served later.
- One hash per whole response, `<prefix>q:<digest>` (HTTP queries whose every fetch was cacheable),
  an entry stamped with the generations of every subgraph the plan fetches from.
- One hash per root query fetch, `<prefix>r:<subgraph>:<digest>`, a field per scope; an entry is
  `<expires ms>:<generation>:<JSON>`. Any invalidation of a subgraph bumps its generation
  (`<prefix>g:<subgraph>`), read in the same round trip as the entry: a root query may return any of
  the subgraph's entities, so every one of them is dropped at once.
- The transaction that applies an invalidation also publishes the subgraphs it touched on
  `<prefix>invalidated`, for every instance's in-process tier (:mod:`.local`); this instance's own
  tier is bumped once Redis has applied it, before the invalidation is answered.

Redis failures never fail a request: the lookup misses, the store is skipped, the failure is logged
(once per outage) and counted, and Redis is left alone for `BREAKER_SECONDS`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import orjson

from .. import metrics
from ..redis_client import Command, RedisClient
from .invalidation import Invalidation
from .listener import invalidations_channel
from .local import LocalResponses

log = logging.getLogger("gateway.cache")

BREAKER_SECONDS = 2.0
INVALIDATED = b"#inv"
# An invalidation marker outlives every entry stored before it (at most max TTL + a fetch's time).
MARKER_GRACE_SECONDS = 120


class CacheUnavailable(Exception):
    """Redis did not apply an invalidation."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def entity_key(prefix: str, subgraph: str, type_name: str, key: dict[str, Any]) -> str:
    return f"{prefix}e:{subgraph}:{type_name}:{orjson.dumps(key, option=orjson.OPT_SORT_KEYS).decode()}"


class CacheStore:
    def __init__(self, redis_url: str, prefix: str, max_ttl_seconds: int, timeout_seconds: float,
                 local: LocalResponses | None = None) -> None:
        self.redis = RedisClient(redis_url, timeout_seconds)
        self.prefix = prefix
        self.local = local
        self.max_ttl = max_ttl_seconds
        self._down_until = 0.0
        self._down = False

    def _usable(self) -> bool:
        return not self._down or time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        metrics.cache_error(operation)
        if not self._down:
            log.warning("gateway cache: Redis failed (%s: %s); requests go to the subgraphs", operation, exc)
        self._down = True
        self._down_until = time.monotonic() + BREAKER_SECONDS

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.info("gateway cache: Redis answers again")

    def ttl(self, max_age: int) -> int:
        return max(1, min(max_age, self.max_ttl))

    # --- entities ----------------------------------------------------------------------
    async def lookup_entities(self, keys: Sequence[str], fields: Sequence[Sequence[bytes]]) -> list[Hit | None]:
        """Per entity key, the first live entry among its `fields` (None: a miss)."""
        if not self._usable():
            return [None] * len(keys)
        try:
            commands: list[Command] = [("HMGET", key, INVALIDATED, *names)
                                       for key, names in zip(keys, fields, strict=True)]
            rows = await self.redis.execute(*commands)
        except Exception as exc:
            self._failed("lookup", exc)
            return [None] * len(keys)
        self._recovered()
        now = _now_ms()
        out: list[Hit | None] = []
        for row in rows:
            invalidated = int(row[0]) if row[0] else 0
            out.append(_first_live(row[1:], now, _newer_than(invalidated)))
        return out

    async def store_entities(self, entries: Sequence[tuple[str, bytes, bytes]], max_age: int, started_ms: int) -> None:
        """Store (entity key, field, JSON) entries fetched by a fetch that started at `started_ms`."""
        if not entries or not self._usable():
            return
        ttl = self.ttl(max_age)
        head = f"{_now_ms() + ttl * 1000}:{started_ms}:".encode()
        try:
            commands: list[Command] = []
            for key, field, body in entries:
                # the hash outlives its entries (and its marker with them)
                commands += [("HSET", key, field, head + body), ("EXPIRE", key, self.max_ttl)]
            await self.redis.execute(*commands)
        except Exception as exc:
            self._failed("store", exc)
            return
        metrics.cache_stored("entity", len(entries))

    # --- root queries ------------------------------------------------------------------
    def root_key(self, subgraph: str, digest: str) -> str:
        return f"{self.prefix}r:{subgraph}:{digest}"

    def generation_key(self, subgraph: str) -> str:
        return f"{self.prefix}g:{subgraph}"

    async def lookup_root(self, subgraph: str, digest: str, fields: Sequence[bytes]) -> tuple[Hit | None, int | None]:
        """(The live entry or None, the subgraph's generation to store a fresh one under; None: don't)."""
        if not self._usable():
            return None, None
        try:
            generation_raw, row = await self.redis.execute(
                ("GET", self.generation_key(subgraph)), ("HMGET", self.root_key(subgraph, digest), *fields))
        except Exception as exc:
            self._failed("lookup", exc)
            return None, None
        self._recovered()
        generation = int(generation_raw) if generation_raw else 0
        return _first_live(row, _now_ms(), lambda stamp: int(stamp) == generation), generation

    async def store_root(
        self, subgraph: str, digest: str, field: bytes, body: bytes, max_age: int, generation: int
    ) -> None:
        if not self._usable():
            return
        expires_ms = _now_ms() + self.ttl(max_age) * 1000
        await self._store_stamped(self.root_key(subgraph, digest), field, f"{expires_ms}:{generation}:", body, "root")

    # --- whole responses ---------------------------------------------------------------
    async def lookup_response(
        self, digest: str, subgraphs: Sequence[str], fields: Sequence[bytes]
    ) -> tuple[Hit | None, str | None]:
        """(The live response or None, the generations of `subgraphs` to store a fresh one under)."""
        if not self._usable():
            return None, None
        try:
            generations_raw, row = await self.redis.execute(
                ("MGET", *[self.generation_key(subgraph) for subgraph in subgraphs]),
                ("HMGET", f"{self.prefix}q:{digest}", *fields))
        except Exception as exc:
            self._failed("lookup", exc)
            return None, None
        self._recovered()
        generations = ".".join((raw or b"0").decode() for raw in generations_raw)
        return _first_live(row, _now_ms(), lambda stamp: stamp.decode() == generations), generations

    async def store_response(self, digest: str, field: bytes, body: bytes, expires_ms: int, generations: str) -> None:
        if not self._usable() or expires_ms <= _now_ms():
            return
        await self._store_stamped(f"{self.prefix}q:{digest}", field, f"{expires_ms}:{generations}:", body, "response")

    async def _store_stamped(self, key: str, field: bytes, stamp: str, body: bytes, kind: str) -> None:
        """`body` under `field` of the hash `key`, behind its `expiry:generations:` stamp."""
        try:
            await self.redis.execute(("HSET", key, field, stamp.encode() + body), ("EXPIRE", key, self.max_ttl))
        except Exception as exc:
            self._failed("store", exc)
            return
        metrics.cache_stored(kind, 1)

    # --- invalidation ------------------------------------------------------------------
    async def invalidate(self, items: Sequence[Invalidation], source: str) -> int:
        """Apply `items` at once; returns how many entity hashes were dropped. Raises
        :class:`CacheUnavailable` when Redis fails (tried even while the breaker is open)."""
        marker_ttl = self.max_ttl + MARKER_GRACE_SECONDS
        dropped = 0
        try:
            now = str(_now_ms())
            subgraphs = list(dict.fromkeys(item.subgraph for item in items))
            commands: list[Command] = [
                ("INCR", self.generation_key(subgraph)) for subgraph in subgraphs]
            commands.append(("PUBLISH", invalidations_channel(self.prefix), orjson.dumps(subgraphs)))
            for item in items:
                if item.kind == "entity":
                    assert item.type is not None and item.key is not None
                    key = entity_key(self.prefix, item.subgraph, item.type, item.key)
                    commands += [("DEL", key), ("HSET", key, INVALIDATED, now), ("EXPIRE", key, marker_ttl)]
                    dropped += 1
            await self.redis.transaction(*commands)
            if self.local is not None:
                self.local.bump(subgraphs)
            for item in items:
                if item.kind != "entity":
                    pattern = f"{self.prefix}e:{item.subgraph}:" + (f"{item.type}:*" if item.kind == "type" else "*")
                    dropped += await self._drop_matching(pattern)
        except Exception as exc:
            if self.local is not None:  # whatever Redis applied, this instance serves nothing it may have
                self.local.bump(item.subgraph for item in items)
            self._failed("invalidate", exc)
            raise CacheUnavailable(str(exc) or type(exc).__name__) from exc
        self._recovered()
        for item in items:
            metrics.cache_invalidated(source, item.kind)
        return dropped

    async def _drop_matching(self, pattern: str) -> int:
        """UNLINK every key matching `pattern` (a SCAN: type and subgraph invalidations are rare)."""
        dropped = 0
        cursor: bytes | int = 0
        while True:
            [(cursor, keys)] = await self.redis.execute(("SCAN", cursor, "MATCH", pattern, "COUNT", 500))
            if keys:
                [unlinked] = await self.redis.execute(("UNLINK", *keys))
                dropped += int(unlinked)
            if int(cursor) == 0:
                return dropped

    async def aclose(self) -> None:
        await self.redis.aclose()


def _newer_than(invalidated_ms: int) -> Callable[[bytes], bool]:
    """An entity entry counts when its fetch started after the entity's last invalidation."""
    return lambda stamp: int(stamp) > invalidated_ms


class Hit(NamedTuple):
    body: bytes
    expires_ms: int
    field: int  # which of the fields asked for it was (0: the first)


def _first_live(row: Sequence[bytes | None], now_ms: int, current: Callable[[bytes], bool]) -> Hit | None:
    """The first entry of `row` that has not expired and whose stamp is `current`; a malformed one
    counts as missing."""
    for index, raw in enumerate(row):
        if not raw:
            continue
        expires, _, rest = raw.partition(b":")
        stamp, _, body = rest.partition(b":")
        try:
            expires_ms = int(expires)
            if expires_ms > now_ms and body and current(stamp):
                return Hit(body, expires_ms, index)
        except ValueError:
            continue
    return None
