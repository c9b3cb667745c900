"""Cache-aside for catalog reads in Redis, with versioned entries.

Every cached entry records the version token its loader read *before* loading from MongoDB; an entry is
served only while its version key still holds that token. A write changes MongoDB first, then sets new
random tokens (the product's, and the catalog's for listings) before it returns: every entry loaded
before the write stops matching at once, even one stored by a reader that raced the write. Tokens are
random, so a lost (evicted, expired) version key can never make an old entry match again. Entries expire
after a TTL as a backstop.

Concurrent misses of one key in this process share one load (single-flight, keyed by key and version, so
a read that starts after a write never joins a load that began before it).

Redis failures never fail a read: they are logged and the read goes to MongoDB. After a failure Redis is
skipped for a short while. After a failed invalidation this process stops trusting cached entries, and
records the invalidation in MongoDB (`cache_repair`): every instance's repair loop applies it once Redis
answers, so no instance serves an entry older than the write for longer than the repair interval; the
writer trusts the cache again once the repair is applied (or after the TTL, if even the record failed).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from subgraphs.products.cache_repair import PendingInvalidations

log = logging.getLogger(__name__)

T = TypeVar("T")
PREFIX = "products:cache:v1"
CATALOG_VERSION_KEY = f"{PREFIX}:ver:catalog"
VERSION_TTL_SECONDS = 7 * 24 * 3600
BREAKER_SECONDS = 1.0
FLIGHT_GRACE_SECONDS = 2.0


def product_version_key(product_id: str) -> str:
    return f"{PREFIX}:ver:product:{product_id}"


def product_entry_key(product_id: str) -> str:
    return f"{PREFIX}:product:{product_id}"


def listing_entry_key(name: str) -> str:
    return f"{PREFIX}:list:{name}"


class CatalogCache:
    """`redis=None` disables caching (PRODUCTS_CACHE=0): every read loads from MongoDB."""

    def __init__(self, redis: aioredis.Redis | None, ttl_seconds: int = 300,
                 pending: PendingInvalidations | None = None,
                 on_invalidate: Callable[[Sequence[str], bool], Awaitable[None]] | None = None) -> None:
        self.redis = redis
        # told of every invalidation (ids, whether only stock changed), after this cache's own (the gateway's
        # cache feed); must not raise
        self.on_invalidate = on_invalidate
        self.ttl_seconds = ttl_seconds
        self.pending = pending
        self._failed_invalidations = 0
        # Until when an invalidation that could not be recorded keeps this process off the cache (one TTL)
        self._unrecorded_until = 0.0
        self._flights: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._landed: deque[tuple[float, tuple[str, str], asyncio.Future[Any]]] = deque()
        self._skip_until = 0.0
        self._untrusted_until = 0.0

    @property
    def enabled(self) -> bool:
        return self.redis is not None

    def _usable(self) -> bool:
        moment = time.monotonic()
        return self.redis is not None and moment >= self._skip_until and moment >= self._untrusted_until

    def _failed(self, action: str, exc: Exception) -> None:
        log.warning("redis %s failed (%s: %s); serving from MongoDB", action, exc.__class__.__name__, exc)
        self._skip_until = time.monotonic() + BREAKER_SECONDS

    # ---- reads -------------------------------------------------------------------------------------

    async def get_or_load(self, entry_key: str, version_key: str, loader: Callable[[], Awaitable[T]]) -> T:
        """The cached value of `entry_key` while `version_key` is unchanged, else `loader()` (cached)."""
        if not self._usable():
            return await loader()
        assert self.redis is not None
        try:
            version, raw = await self.redis.mget([version_key, entry_key])
            if version is None:
                version = await self._ensure_version(version_key)
        except (RedisError, OSError) as exc:
            self._failed("read", exc)
            return await loader()
        entry = _decode(raw)
        if entry is not None and entry[0] == version:
            return entry[1]
        return await self._single_flight((entry_key, version), lambda: self._load_and_store(
            entry_key, version, loader))

    async def get_many_or_load(
        self, ids: Sequence[str], load_many: Callable[[list[str]], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Products by id: one MGET for the cached ones, one `load_many` call for all misses."""
        if not ids:
            return {}
        if not self._usable():
            return await load_many(list(ids))
        assert self.redis is not None
        version_keys = [product_version_key(i) for i in ids]
        try:
            values = await self.redis.mget([*version_keys, *(product_entry_key(i) for i in ids)])
            versions: list[str | None] = values[: len(ids)]
            missing = [version_keys[i] for i, version in enumerate(versions) if version is None]
            if missing:
                ensured = dict(zip(missing, await self._ensure_versions(missing), strict=True))
                versions = [v if v is not None else ensured[version_keys[i]] for i, v in enumerate(versions)]
        except (RedisError, OSError) as exc:
            self._failed("read", exc)
            return await load_many(list(ids))
        found: dict[str, Any] = {}
        waiting: dict[str, asyncio.Future[Any]] = {}
        to_load: dict[str, str] = {}
        for index, product_id in enumerate(ids):
            version = versions[index]
            assert version is not None
            entry = _decode(values[len(ids) + index])
            if entry is not None and entry[0] == version:
                found[product_id] = entry[1]
            elif (flight := self._flight((product_entry_key(product_id), version))) is not None:
                waiting[product_id] = flight
            else:
                to_load[product_id] = version
        if to_load:
            futures = {i: self._begin((product_entry_key(i), v)) for i, v in to_load.items()}
            try:
                loaded = await load_many(list(to_load))
            except BaseException as exc:
                for key, future in futures.items():
                    self._finish((product_entry_key(key), to_load[key]), future, exc=exc)
                raise
            for product_id, version in to_load.items():
                value = loaded.get(product_id)
                found[product_id] = value
                self._finish((product_entry_key(product_id), version), futures[product_id], value=value)
            await self._store_many([(product_entry_key(i), to_load[i], loaded.get(i)) for i in to_load])
        for product_id, future in waiting.items():
            found[product_id] = await asyncio.shield(future)
        return found

    async def _ensure_version(self, version_key: str) -> str:
        return (await self._ensure_versions([version_key]))[0]

    async def _ensure_versions(self, version_keys: list[str]) -> list[str]:
        """Give version keys that have none a fresh token (unless another process just did); read them."""
        assert self.redis is not None
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in version_keys:
                pipe.set(key, uuid.uuid4().hex, nx=True, ex=VERSION_TTL_SECONDS)
            pipe.mget(version_keys)
            *_, versions = await pipe.execute()
        # A key that vanished again in between gets a token no entry can match: a miss, never stale.
        return [str(v) if v is not None else uuid.uuid4().hex for v in versions]

    async def _load_and_store(self, entry_key: str, version: str, loader: Callable[[], Awaitable[T]]) -> T:
        value = await loader()
        await self._store_many([(entry_key, version, value)])
        return value

    async def _store_many(self, entries: list[tuple[str, str, Any]]) -> None:
        if not entries or self.redis is None:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, version, value in entries:
                    pipe.set(key, orjson.dumps([version, value]), ex=self.ttl_seconds)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed("write", exc)

    # ---- single-flight -----------------------------------------------------------------------------
    # A flight is keyed by (entry key, version). It stays joinable for FLIGHT_GRACE_SECONDS after it
    # lands: a reader whose MGET raced the landing (saw no entry, yet runs after the flight ended) still
    # joins it. That is never stale: the reader saw that same version as current.

    def _flight(self, key: tuple[str, str]) -> asyncio.Future[Any] | None:
        self._prune()
        return self._flights.get(key)

    def _begin(self, key: tuple[str, str]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        return future

    def _finish(self, key: tuple[str, str], future: asyncio.Future[Any], *, value: Any = None,
                exc: BaseException | None = None) -> None:
        if future.done():
            return
        if exc is not None:
            if self._flights.get(key) is future:
                del self._flights[key]
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters, if any, re-raise it themselves
            return
        future.set_result(value)
        self._landed.append((time.monotonic() + FLIGHT_GRACE_SECONDS, key, future))

    def _prune(self) -> None:
        moment = time.monotonic()
        while self._landed and self._landed[0][0] < moment:
            _, key, future = self._landed.popleft()
            if self._flights.get(key) is future:
                del self._flights[key]

    async def _single_flight(self, key: tuple[str, str], load: Callable[[], Awaitable[T]]) -> T:
        existing = self._flight(key)
        if existing is not None:
            value: T = await asyncio.shield(existing)
            return value
        future = self._begin(key)
        try:
            value = await load()
        except BaseException as exc:
            self._finish(key, future, exc=exc)
            raise
        self._finish(key, future, value=value)
        return value

    # ---- invalidation ------------------------------------------------------------------------------

    async def invalidate(self, product_ids: Sequence[str], *, stock: bool = False) -> None:
        """Call after a write to MongoDB, before answering: new tokens for the products and the catalog.
        `stock`: only the stock of these products changed (the gateway keeps what does not show stock)."""
        try:
            await self._invalidate(product_ids)
        finally:
            if self.on_invalidate is not None:
                await self.on_invalidate(product_ids, stock)

    async def _invalidate(self, product_ids: Sequence[str]) -> None:
        if self.redis is None:
            return
        try:
            await self._apply(product_ids)
        except (RedisError, OSError) as exc:
            self._failed("invalidation", exc)
            # Entries written before this write may still be in Redis: this process serves none of them
            # until the recorded invalidation is applied (or, unrecorded, until they expire).
            self._failed_invalidations += 1
            self._untrusted_until = time.monotonic() + self.ttl_seconds
            recorded = await self._record(product_ids)
            if not recorded:
                self._unrecorded_until = self._untrusted_until
            log.error("catalog cache invalidation failed: this process bypasses the cache %s",
                      "until an instance applies it (recorded)" if recorded else f"for {self.ttl_seconds}s")

    async def _apply(self, product_ids: Sequence[str]) -> None:
        assert self.redis is not None
        async with self.redis.pipeline(transaction=False) as pipe:
            for product_id in dict.fromkeys(product_ids):
                pipe.set(product_version_key(product_id), uuid.uuid4().hex, ex=VERSION_TTL_SECONDS)
            pipe.set(CATALOG_VERSION_KEY, uuid.uuid4().hex, ex=VERSION_TTL_SECONDS)
            await pipe.execute()

    async def _record(self, product_ids: Sequence[str]) -> bool:
        if self.pending is None:
            return False
        try:
            await self.pending.record(product_ids)
        except Exception as exc:  # MongoDB refused too: the TTL is the only bound left
            log.error("could not record the failed catalog cache invalidation (%s: %s)", exc.__class__.__name__, exc)
            return False
        return True

    async def repair(self) -> int:
        """Apply every recorded failed invalidation (any instance's) and delete it; returns how many.
        Raises when Redis or MongoDB fails (the records stay for the next round)."""
        if self.redis is None or self.pending is None:
            return 0
        failures_before = self._failed_invalidations
        records = await self.pending.pending()
        if records:
            await self._apply([i for _, ids in records for i in ids])
            await self.pending.done([record_id for record_id, _ in records])
        # Every recorded failed invalidation is applied now (and none failed meanwhile): the entries they left
        # are dead. One that could not be recorded still keeps this process off the cache for its TTL.
        if (self._untrusted_until > self._unrecorded_until and failures_before == self._failed_invalidations
                and not await self.pending.pending()):
            self._untrusted_until = self._unrecorded_until
            log.info("catalog cache: the failed invalidations are applied; this process trusts the cache again")
        return len(records)


def _decode(raw: Any) -> tuple[str, Any] | None:
    if raw is None:
        return None
    try:
        entry = orjson.loads(raw)
    except ValueError:
        return None
    if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):
        return entry[0], entry[1]
    return None
