"""The cache as one request's plan execution uses it: keys, scopes, hits and misses.

Scope: an entry a subgraph marked `private` is stored for the verified subject alone (hashed, so Redis
holds no user ids) and never without one; a public entry is shared. A lookup reads both the public
and the requesting user's variant in one round trip, since which one a fetch produces is known only
from its response.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from .. import metrics
from .hints import CacheHint
from .store import CacheStore, entity_key

PUBLIC = b"p"


@lru_cache(maxsize=1024)
def _operation_digest(operation: str) -> bytes:
    return hashlib.sha1(operation.encode(), usedforsecurity=False).digest()


def _digest(*parts: bytes) -> str:
    return hashlib.sha1(b"\0".join(parts), usedforsecurity=False).hexdigest()


@dataclass(slots=True)
class RootLookup:
    digest: str
    generation: int | None
    response: dict[str, Any] | None  # the cached `{"data": ...}` on a hit


@dataclass(slots=True)
class EntityLookup:
    keys: list[str]
    variants: list[bytes]
    found: list[dict[str, Any] | None]
    started_ms: int


class RequestCache:
    __slots__ = ("_private", "_scopes", "store")

    def __init__(self, store: CacheStore, subject: str | None) -> None:
        self.store = store
        if subject:
            self._private: bytes | None = b"u:" + hashlib.sha256(subject.encode()).hexdigest()[:24].encode()
            self._scopes: tuple[bytes, ...] = (PUBLIC, self._private)
        else:
            self._private = None
            self._scopes = (PUBLIC,)

    def scope_for(self, hint: CacheHint | None) -> bytes | None:
        """Where an entry with `hint` is stored for this request (None: it is not stored)."""
        if hint is None:
            return None
        return self._private if hint.private else PUBLIC

    # --- root query fetches ------------------------------------------------------------
    async def root_lookup(self, service: str, operation: str, variables: Mapping[str, Any]) -> RootLookup:
        digest = _digest(_operation_digest(operation), orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
        body, generation = await self.store.lookup_root(service, digest, self._scopes)
        response = _loads(body)
        metrics.cache_lookup("root", 1 if response is not None else 0, 0 if response is not None else 1)
        return RootLookup(digest, generation, {"data": response} if response is not None else None)

    async def root_store(self, service: str, lookup: RootLookup, data: bytes, hint: CacheHint | None) -> None:
        scope = self.scope_for(hint)
        if scope is None or lookup.generation is None or hint is None:
            return
        await self.store.store_root(service, lookup.digest, scope, data, hint.max_age, lookup.generation)

    # --- entity fetches ----------------------------------------------------------------
    async def entity_lookup(
        self,
        service: str,
        operation: str,
        variables: Mapping[str, Any],
        entities: Sequence[tuple[str, dict[str, Any], bytes]],
    ) -> EntityLookup:
        """`entities`: (typename, key fields, representation JSON) per representation."""
        started_ms = int(time.time() * 1000)
        base = _operation_digest(operation)
        if variables:
            base += orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
        keys = [entity_key(self.store.prefix, service, type_name, key) for type_name, key, _ in entities]
        variants = [_digest(base, rep).encode()[:24] for _, _, rep in entities]
        fields = [[variant + b"|" + scope for scope in self._scopes] for variant in variants]
        bodies = await self.store.lookup_entities(keys, fields)
        found = [_loads(body) for body in bodies]
        hits = sum(1 for entity in found if entity is not None)
        metrics.cache_lookup("entity", hits, len(found) - hits)
        return EntityLookup(keys, variants, found, started_ms)

    async def entity_store(
        self, lookup: EntityLookup, fetched: Sequence[tuple[int, bytes]], hint: CacheHint | None
    ) -> None:
        """Store (index in the lookup, entity JSON) pairs fetched after the lookup."""
        scope = self.scope_for(hint)
        if scope is None or hint is None or not fetched:
            return
        entries = [(lookup.keys[i], lookup.variants[i] + b"|" + scope, body) for i, body in fetched]
        await self.store.store_entities(entries, hint.max_age, lookup.started_ms)


def _loads(body: bytes | None) -> Any:
    if body is None:
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if type(value) is dict else None
