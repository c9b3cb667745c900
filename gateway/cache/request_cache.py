"""The cache as one request uses it: keys, scopes, hits and misses, and how long the whole response
may be kept (the earliest expiry of everything it is made of).

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
from .local import Stamp
from .store import CacheStore, Hit, entity_key

PUBLIC = b"p"


@lru_cache(maxsize=1024)
def _operation_digest(operation: str) -> bytes:
    return hashlib.sha1(operation.encode(), usedforsecurity=False).digest()


def _digest(*parts: bytes) -> str:
    return hashlib.sha1(b"\0".join(parts), usedforsecurity=False).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


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


@dataclass(slots=True)
class ResponseLookup:
    digest: str
    generations: str | None
    body: bytes | None  # the cached response on a hit
    subgraphs: Sequence[str] = ()
    stamp: Stamp | None = None  # the in-process tier's, taken before the shared lookup (None: not kept there)


class RequestCache:
    __slots__ = ("_private", "_scopes", "expires_ms", "private", "storable", "store")

    def __init__(self, store: CacheStore, subject: str | None) -> None:
        self.store = store
        if subject:
            self._private: bytes | None = b"u:" + hashlib.sha256(subject.encode()).hexdigest()[:24].encode()
            self._scopes: tuple[bytes, ...] = (PUBLIC, self._private)
        else:
            self._private = None
            self._scopes = (PUBLIC,)
        # the whole response: storable while every fetch was; until the earliest expiry; private if any part is
        self.storable = True
        self.expires_ms: int | None = None
        self.private = False

    def scope_for(self, hint: CacheHint | None) -> bytes | None:
        """Where an entry with `hint` is stored for this request (None: it is not stored)."""
        if hint is None:
            return None
        return self._private if hint.private else PUBLIC

    def note_fetched(self, hint: CacheHint | None) -> None:
        """A fetch answered by its subgraph with `hint` (None: no hint, or it failed)."""
        if self.scope_for(hint) is None or hint is None:
            self.storable = False
            return
        self._part(_now_ms() + self.store.ttl(hint.max_age) * 1000, hint.private)

    def _hit(self, hit: Hit) -> None:
        self._part(hit.expires_ms, hit.field > 0)

    def _part(self, expires_ms: int, private: bool) -> None:
        if self.expires_ms is None or expires_ms < self.expires_ms:
            self.expires_ms = expires_ms
        self.private = self.private or private

    # --- whole responses ---------------------------------------------------------------
    async def response_lookup(
        self, document: str, operation_name: str | None, variables: Mapping[str, Any], subgraphs: Sequence[str]
    ) -> ResponseLookup:
        """The in-process tier first (gateway.cache.local), then Redis; a Redis hit is kept in-process.
        A plan that fetches from no subgraph (`{ __typename }`) has nothing to cache: no lookup."""
        if not subgraphs:
            return ResponseLookup("", None, None)
        digest = _digest(
            _operation_digest(document), (operation_name or "").encode(),
            orjson.dumps(variables, option=orjson.OPT_SORT_KEYS),
        )
        local = self.store.local
        stamp = local.stamp(subgraphs) if local is not None else None
        if stamp is not None and local is not None:
            near = local.get(digest, self._scopes, stamp)
            metrics.cache_lookup("response_local", 1 if near is not None else 0, 0 if near is not None else 1)
            if near is not None:
                return ResponseLookup(digest, None, near.body)
        hit, generations = await self.store.lookup_response(digest, subgraphs, self._scopes)
        metrics.cache_lookup("response", 1 if hit is not None else 0, 0 if hit is not None else 1)
        if hit is None:
            return ResponseLookup(digest, generations, None, subgraphs, stamp)
        if stamp is not None and local is not None:
            local.put(digest, self._scopes[hit.field], hit.body, hit.expires_ms, stamp, subgraphs)
        return ResponseLookup(digest, generations, hit.body)

    async def response_store(self, lookup: ResponseLookup, body: bytes) -> None:
        """Store the response when every part of it may be (and, if private, for a known user)."""
        if not self.storable or self.expires_ms is None or lookup.generations is None:
            return
        scope = self._private if self.private else PUBLIC
        if scope is None:
            return
        local = self.store.local
        if lookup.stamp is not None and local is not None:
            local.put(lookup.digest, scope, body, self.expires_ms, lookup.stamp, lookup.subgraphs)
        await self.store.store_response(lookup.digest, scope, body, self.expires_ms, lookup.generations)

    # --- root query fetches ------------------------------------------------------------
    async def root_lookup(self, service: str, operation: str, variables: Mapping[str, Any]) -> RootLookup:
        digest = _digest(_operation_digest(operation), orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
        hit, generation = await self.store.lookup_root(service, digest, self._scopes)
        response = _loads(hit.body) if hit is not None else None
        metrics.cache_lookup("root", 1 if response is not None else 0, 0 if response is not None else 1)
        if hit is not None and response is not None:
            self._hit(hit)
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
        started_ms = _now_ms()
        base = _operation_digest(operation)
        if variables:
            base += orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
        keys = [entity_key(self.store.prefix, service, type_name, key) for type_name, key, _ in entities]
        variants = [_digest(base, rep).encode()[:24] for _, _, rep in entities]
        fields = [[variant + b"|" + scope for scope in self._scopes] for variant in variants]
        hits = await self.store.lookup_entities(keys, fields)
        found: list[dict[str, Any] | None] = []
        for hit in hits:
            entity = _loads(hit.body) if hit is not None else None
            if hit is not None and entity is not None:
                self._hit(hit)
            found.append(entity)
        count = sum(1 for entity in found if entity is not None)
        metrics.cache_lookup("entity", count, len(found) - count)
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
