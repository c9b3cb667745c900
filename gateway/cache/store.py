"""The cache's Redis layout, shared by every gateway instance.

- One hash per entity, `<prefix>e:<subgraph>:<type>:<key JSON>`: a field per variant (selection hash
  and scope), so one invalidation drops all of them. An entry is `<expires ms>:<fetch started ms>:<JSON>`;
  an invalidation leaves the field `#inv` (its time) in place, and an entry whose fetch started before
  it is ignored: a fetch that raced the invalidation cannot store stale data that is served later.
- One hash per root query fetch, `<prefix>r:<subgraph>:<digest>`, a field per scope, and one per whole
  response, `<prefix>q:<digest>` (HTTP queries whose every fetch was cacheable). An entry is
  `<expires ms>:<stamp>:<JSON>`, the stamp a digest of its dependencies (:mod:`.tags`: the subgraph,
  or the subgraph's tags the response carried) and of their generations (`<prefix>g:<dependency>`),
  read in the same round trip as the entry and before its fetch started. An invalidation sets the
  generations it bumps to fresh random tokens (a lost key can never make an old entry match again);
  tag generations expire once no entry can still depend on them.
- The transaction that applies an invalidation also publishes the dependencies it bumped on
  `<prefix>invalidated`, for every instance's in-process tier (:mod:`.local`); this instance's own
  tier is bumped once Redis has applied it, before the invalidation is answered.

Redis failures never fail a request: the lookup misses, the store is skipped, the failure is logged
(once per outage) and counted, and Redis is left alone for `BREAKER_SECONDS`.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import orjson

from .. import metrics
from ..redis_client import Command, RedisClient
from .invalidation import Invalidation
from .listener import invalidations_channel
from .local import LocalResponses
from .tags import Dependencies, LearntDependencies, vouching

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
        self.learnt = LearntDependencies()  # per worker: what each fetch and response last depended on
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

    # --- root queries and whole responses ----------------------------------------------
    def root_key(self, subgraph: str, digest: str) -> str:
        return f"{self.prefix}r:{subgraph}:{digest}"

    def generation_key(self, dependency: str) -> str:
        return f"{self.prefix}g:{dependency}"

    async def lookup_root(
        self, subgraph: str, digest: str, dependencies: Dependencies, fields: Sequence[bytes]
    ) -> Lookup:
        return await self._lookup_stamped(self.root_key(subgraph, digest), dependencies, fields)

    async def store_root(
        self, subgraph: str, digest: str, field: bytes, body: bytes, max_age: int, stamp: str
    ) -> None:
        if not self._usable():
            return
        expires_ms = _now_ms() + self.ttl(max_age) * 1000
        await self._store_stamped(self.root_key(subgraph, digest), field, f"{expires_ms}:{stamp}:", body, "root")

    async def lookup_response(self, digest: str, dependencies: Dependencies, fields: Sequence[bytes]) -> Lookup:
        return await self._lookup_stamped(f"{self.prefix}q:{digest}", dependencies, fields)

    async def store_response(self, digest: str, field: bytes, body: bytes, expires_ms: int, stamp: str) -> None:
        if not self._usable() or expires_ms <= _now_ms():
            return
        await self._store_stamped(f"{self.prefix}q:{digest}", field, f"{expires_ms}:{stamp}:", body, "response")

    async def _lookup_stamped(self, key: str, dependencies: Dependencies, fields: Sequence[bytes]) -> Lookup:
        if not self._usable():
            return Lookup(None, None, ())
        try:
            if dependencies:
                generations, row = await self.redis.execute(
                    ("MGET", *[self.generation_key(name) for name in dependencies]), ("HMGET", key, *fields))
            else:  # MGET takes at least one key
                generations = []
                [row] = await self.redis.execute(("HMGET", key, *fields))
        except Exception as exc:
            self._failed("lookup", exc)
            return Lookup(None, None, ())
        self._recovered()
        stamp = _stamp(dependencies, generations)
        current = stamp.encode()
        return Lookup(_first_live(row, _now_ms(), lambda found: found == current), stamp, tuple(generations))

    async def restamp(
        self, read: Dependencies, generations: Sequence[bytes | None], wanted: Dependencies
    ) -> str | None:
        """The stamp of `wanted` as of a lookup that read `generations` of `read`, when that read
        vouches for every one of them (:func:`.tags.vouching`) and what vouches is unchanged since;
        None otherwise (then nothing is stored)."""
        if not self._usable() or not wanted or len(generations) != len(read):
            return None
        known = dict(zip(read, generations, strict=True))
        vouchers = []
        for name in wanted:
            voucher = vouching(name, known)
            if voucher is None:
                return None
            vouchers.append(voucher)
        checked = list(dict.fromkeys(vouchers))
        try:
            [current] = await self.redis.execute(
                ("MGET", *[self.generation_key(name) for name in (*wanted, *checked)]))
        except Exception as exc:
            self._failed("lookup", exc)
            return None
        if any(now != known[name] for name, now in zip(checked, current[len(wanted):], strict=True)):
            return None  # an invalidation came between the lookup and now
        return _stamp(wanted, current[: len(wanted)])

    async def _store_stamped(self, key: str, field: bytes, stamp: str, body: bytes, kind: str) -> None:
        """`body` under `field` of the hash `key`, behind its `expiry:stamp:` prefix."""
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
            bumped = list(dict.fromkeys(name for item in items for name in item.dependencies()))
            tag_ttl = str(marker_ttl)
            commands: list[Command] = []
            for name in bumped:  # a tag's generation outlives every entry stamped with it; a subgraph's stays
                token = f"{random.getrandbits(64):016x}"
                commands.append(("SET", self.generation_key(name), token, "EX", tag_ttl) if "#" in name
                                else ("SET", self.generation_key(name), token))
            commands.append(("PUBLISH", invalidations_channel(self.prefix), orjson.dumps(bumped)))
            for item in items:
                if item.kind == "entity":
                    assert item.type is not None and item.key is not None
                    key = entity_key(self.prefix, item.subgraph, item.type, item.key)
                    commands += [("DEL", key), ("HSET", key, INVALIDATED, now), ("EXPIRE", key, marker_ttl)]
                    dropped += 1
            await self.redis.transaction(*commands)
            if self.local is not None:
                self.local.bump(bumped)
            for item in items:
                if item.kind in ("type", "subgraph"):
                    pattern = f"{self.prefix}e:{item.subgraph}:" + (f"{item.type}:*" if item.kind == "type" else "*")
                    dropped += await self._drop_matching(pattern)
        except Exception as exc:
            if self.local is not None:  # whatever Redis applied, this instance serves nothing it may have
                self.local.bump(name for item in items for name in item.dependencies())
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


def _stamp(dependencies: Dependencies, generations: Sequence[bytes | None]) -> str:
    """Which dependencies, at which generations: equal stamps mean nothing they name changed between."""
    parts = b"\0".join(b"%s=%s" % (name.encode(), generation or b"") for name, generation in
                        zip(dependencies, generations, strict=True))
    return hashlib.sha1(parts, usedforsecurity=False).hexdigest()[:24]


def _newer_than(invalidated_ms: int) -> Callable[[bytes], bool]:
    """An entity entry counts when its fetch started after the entity's last invalidation."""
    return lambda stamp: int(stamp) > invalidated_ms


class Lookup(NamedTuple):
    hit: Hit | None  # the live entry
    stamp: str | None  # to store a fresh one under (None: don't store)
    generations: tuple[bytes | None, ...]  # of the dependencies the lookup read, in their order


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
