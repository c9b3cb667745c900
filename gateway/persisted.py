"""Persisted queries: automatic persisted queries (APQ, Apollo's protocol) and a safelist mode.

APQ: a client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without the query; an
unknown hash answers PERSISTED_QUERY_NOT_FOUND (HTTP 200, uncacheable, as Apollo Server does), the
client resends with the query, the gateway checks the hash and stores the query in Redis (with a
TTL, shared by all instances) behind an in-process LRU.

Safelist (a PERSISTED_QUERIES_MANIFEST in Apollo's manifest format): only the manifest's operations
run, sent by id (as `persistedQuery.sha256Hash`) or as their exact body; APQ registration is off.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .planning.prepare import RequestError, error_dict
from .redis_client import RedisClient

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger("gateway.persisted")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_NO_CACHE = {"cache-control": "private, no-cache, must-revalidate"}
MANIFEST_FORMAT = "apollo-persisted-query-manifest"


class PersistedQueryError(RequestError):
    def __init__(self, message: str, code: str, status: int, headers: Mapping[str, str] | None = None) -> None:
        super().__init__([error_dict(message, code)], status)
        self.headers = dict(headers or {})


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """A safelist: operation bodies by id (and by the sha256 of the body), and the set of bodies."""

    by_id: Mapping[str, str]
    bodies: frozenset[str]

    @classmethod
    def load(cls, path: str) -> Manifest:
        """Read an Apollo persisted-query manifest; ValueError saying what is wrong with it."""
        try:
            data = orjson.loads(Path(path).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ValueError(f"PERSISTED_QUERIES_MANIFEST {path!r} cannot be read as JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or data.get("version") != 1:
            raise ValueError(f"PERSISTED_QUERIES_MANIFEST {path!r} is not a {MANIFEST_FORMAT} version 1")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ValueError(f"PERSISTED_QUERIES_MANIFEST {path!r} has no operations list")
        by_id: dict[str, str] = {}
        for number, operation in enumerate(operations):
            if not (
                isinstance(operation, dict)
                and isinstance(operation.get("id"), str)
                and isinstance(operation.get("body"), str)
                and operation["id"]
                and operation["body"]
            ):
                raise ValueError(f"PERSISTED_QUERIES_MANIFEST operation #{number} needs a string id and body")
            by_id[operation["id"]] = operation["body"]
            by_id.setdefault(sha256_hex(operation["body"]), operation["body"])
        return cls(by_id, frozenset(by_id.values()))


def _requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The hash of `extensions.persistedQuery`; None without one; a 400 when it is malformed."""
    if not extensions:
        return None
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError("Unsupported persisted query: expected {version: 1, sha256Hash}", "BAD_REQUEST", 400)
    value = persisted.get("sha256Hash")
    if not isinstance(value, str) or not value:
        raise PersistedQueryError("persistedQuery.sha256Hash must be a string", "BAD_REQUEST", 400)
    return value


class PersistedQueries:
    """Turns a request's (query, extensions) into the query to run, or raises PersistedQueryError."""

    def __init__(
        self,
        apq_enabled: bool = True,
        redis_url: str | None = None,
        ttl_seconds: int = 86400,
        cache_size: int = 1024,
        key_prefix: str = "gw:apq:",
        manifest: Manifest | None = None,
    ) -> None:
        self.apq_enabled = apq_enabled
        self.ttl_seconds = ttl_seconds
        self.cache_size = max(1, cache_size)
        self.prefix = key_prefix
        self.manifest = manifest
        # Whether every request must pass through resolve (and not only those with extensions).
        self.safelist = manifest is not None
        self.cache: OrderedDict[str, str] = OrderedDict()
        self.redis: RedisClient | None = None
        if redis_url and apq_enabled and manifest is None:
            self.redis = RedisClient(redis_url, timeout=1.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> PersistedQueries:
        path = settings.persisted_queries_manifest
        return cls(
            settings.apq_enabled,
            settings.redis_url,
            settings.apq_ttl_seconds,
            settings.apq_cache_size,
            settings.apq_key_prefix,
            Manifest.load(path) if path else None,
        )

    async def resolve(self, query: str, extensions: Mapping[str, Any] | None) -> str:
        requested = _requested_hash(extensions)
        if self.manifest is not None:
            return self._from_safelist(self.manifest, query, requested)
        if requested is None:
            return query
        if not self.apq_enabled:
            raise PersistedQueryError("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED", 200, _NO_CACHE)
        digest = requested.lower()
        if not _SHA256.match(digest):
            raise PersistedQueryError("persistedQuery.sha256Hash must be 64 hex digits", "BAD_REQUEST", 400)
        if not query:
            found = await self._lookup(digest)
            if found is None:
                raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200, _NO_CACHE)
            return found
        if sha256_hex(query) != digest:
            raise PersistedQueryError(
                "The query does not match persistedQuery.sha256Hash", "PERSISTED_QUERY_HASH_MISMATCH", 400
            )
        if digest not in self.cache:
            await self._store(digest, query)
        return query

    @staticmethod
    def _from_safelist(manifest: Manifest, query: str, requested: str | None) -> str:
        if requested is not None:
            body = manifest.by_id.get(requested)
            if body is None:
                raise PersistedQueryError(
                    f"Persisted query {requested!r} is not in the safelist", "PERSISTED_QUERY_NOT_IN_SAFELIST", 404
                )
            if query and query != body:
                raise PersistedQueryError(
                    "The query does not match the safelisted operation of that id", "PERSISTED_QUERY_HASH_MISMATCH", 400
                )
            return body
        if query in manifest.bodies:
            return query
        raise PersistedQueryError(
            "Only safelisted operations may run on this gateway", "PERSISTED_QUERY_NOT_IN_SAFELIST", 403
        )

    def _remember(self, digest: str, query: str) -> None:
        self.cache[digest] = query
        self.cache.move_to_end(digest)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    async def _lookup(self, digest: str) -> str | None:
        query = self.cache.get(digest)
        if query is not None:
            self.cache.move_to_end(digest)
            return query
        if self.redis is None:
            return None
        try:
            [stored] = await self.redis.execute(("GET", self.prefix + digest))
        except Exception as exc:  # a cache miss, not a failed request: the client resends the query
            log.warning("APQ lookup in Redis failed: %s", exc)
            return None
        if not isinstance(stored, bytes):
            return None
        query = stored.decode("utf-8", "replace")
        self._remember(digest, query)
        return query

    async def _store(self, digest: str, query: str) -> None:
        self._remember(digest, query)
        if self.redis is None:
            return
        try:
            await self.redis.execute(("SET", self.prefix + digest, query, "EX", max(1, self.ttl_seconds)))
        except Exception as exc:
            log.warning("APQ store in Redis failed: %s", exc)

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
