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
from typing import Any, NamedTuple

import orjson

from .. import metrics
from .hints import CacheHint
from .local import Stamp
from .store import CacheStore, Hit, entity_key
from .tags import Dependencies, fetch_dependencies, merged, parse_cache_tags, subgraph_of, untagged

PUBLIC = b"p"
MAX_KEPT_DEPENDENCY_BYTES = 2048  # per cached entity entry (gateway.cache.tags caps a response's tags)


@lru_cache(maxsize=1024)
def _operation_digest(operation: str) -> bytes:
    return hashlib.sha1(operation.encode(), usedforsecurity=False).digest()


def _digest(*parts: bytes) -> str:
    return hashlib.sha1(b"\0".join(parts), usedforsecurity=False).hexdigest()


def _now_ms() -> int:
    return int(time.time() * 1000)


class Fetched(NamedTuple):
    """A subgraph answer the cache may keep: its hint, and what it depends on."""

    hint: CacheHint
    dependencies: Dependencies


@dataclass(slots=True)
class RootLookup:
    digest: str
    dependencies: Dependencies  # what the lookup read
    stamp: str | None  # to store a fresh entry under (None: don't)
    generations: tuple[bytes | None, ...]  # of `dependencies`, as read
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
    stamp: str | None  # to store a fresh response under in Redis (None: don't)
    body: bytes | None  # the cached response on a hit
    dependencies: Dependencies = ()
    local_stamp: Stamp | None = None  # the in-process tier's, taken before the shared lookup (None: not kept there)
    generations: tuple[bytes | None, ...] = ()  # of `dependencies`, as read from Redis


class RequestCache:
    __slots__ = ("_dependencies", "_private", "_scopes", "expires_ms", "private", "storable", "store")

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
        self._dependencies: set[str] = set()  # the whole response's, fetch by fetch

    def scope_for(self, hint: CacheHint | None) -> bytes | None:
        """Where an entry with `hint` is stored for this request (None: it is not stored)."""
        if hint is None:
            return None
        return self._private if hint.private else PUBLIC

    def note_fetched(self, service: str, hint: CacheHint | None, cache_tag: str | None) -> Fetched | None:
        """A fetch answered by `service` with `hint` and its `Cache-Tag` header; None: not to be kept."""
        if hint is None or self.scope_for(hint) is None:
            self.storable = False
            return None
        dependencies = fetch_dependencies(service, parse_cache_tags(cache_tag))
        self._dependencies.update(dependencies)
        self._part(_now_ms() + self.store.ttl(hint.max_age) * 1000, hint.private)
        return Fetched(hint, dependencies)

    def note_failed(self) -> None:
        """A fetch failed: the whole response is not kept."""
        self.storable = False

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
        # until learnt: untagged, one dependency per subgraph (its name, `untagged`), sorted as `merged` sorts
        dependencies = self.store.learnt.get("q:" + digest, tuple(subgraphs))
        local = self.store.local
        local_stamp = local.stamp(dependencies) if local is not None else None
        if local_stamp is not None and local is not None:
            near = local.get(digest, self._scopes, local_stamp)
            metrics.cache_lookup("response_local", 1 if near is not None else 0, 0 if near is not None else 1)
            if near is not None:
                return ResponseLookup(digest, None, near.body)
        hit, stamp, generations = await self.store.lookup_response(digest, dependencies, self._scopes)
        metrics.cache_lookup("response", 1 if hit is not None else 0, 0 if hit is not None else 1)
        if hit is None:
            return ResponseLookup(digest, stamp, None, dependencies, local_stamp, generations)
        if local_stamp is not None and local is not None:
            local.put(digest, self._scopes[hit.field], hit.body, hit.expires_ms, local_stamp, dependencies)
        return ResponseLookup(digest, stamp, hit.body)

    async def response_store(self, lookup: ResponseLookup, body: bytes) -> None:
        """Store the response when every part of it may be (and, if private, for a known user), under
        what it depends on as of its lookup; that is learnt for the next lookup of the same query."""
        if not self.storable or self.expires_ms is None or not lookup.digest:
            return
        dependencies = merged(self._dependencies)
        self.store.learnt.learn("q:" + lookup.digest, dependencies)
        scope = self._private if self.private else PUBLIC
        if scope is None or lookup.stamp is None:
            return
        local = self.store.local
        local_stamp = lookup.local_stamp
        stamp: str | None = lookup.stamp
        if dependencies != lookup.dependencies:  # what the lookup read must vouch for them
            if local_stamp is not None and local is not None:
                local_stamp = local.restamp(local_stamp, lookup.dependencies, dependencies)
            stamp = await self.store.restamp(lookup.dependencies, lookup.generations, dependencies)
        if local_stamp is not None and local is not None:
            local.put(lookup.digest, scope, body, self.expires_ms, local_stamp, dependencies)
        if stamp is not None:
            await self.store.store_response(lookup.digest, scope, body, self.expires_ms, stamp)

    # --- root query fetches ------------------------------------------------------------
    async def root_lookup(self, service: str, operation: str, variables: Mapping[str, Any]) -> RootLookup:
        digest = _digest(_operation_digest(operation), orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
        dependencies = self.store.learnt.get(f"r:{service}:{digest}", (untagged(service),))
        hit, stamp, generations = await self.store.lookup_root(service, digest, dependencies, self._scopes)
        response = _loads(hit.body) if hit is not None else None
        metrics.cache_lookup("root", 1 if response is not None else 0, 0 if response is not None else 1)
        if hit is not None and response is not None:
            self._hit(hit)
            self._dependencies.update(dependencies)
        found = {"data": response} if response is not None else None
        return RootLookup(digest, dependencies, stamp, generations, found)

    async def root_store(self, service: str, lookup: RootLookup, data: bytes, fetched: Fetched | None) -> None:
        if fetched is None:
            return
        scope = self.scope_for(fetched.hint)
        if scope is None:
            return
        self.store.learnt.learn(f"r:{service}:{lookup.digest}", fetched.dependencies)
        stamp = lookup.stamp
        if stamp is not None and fetched.dependencies != lookup.dependencies:
            stamp = await self.store.restamp(lookup.dependencies, lookup.generations, fetched.dependencies)
        if stamp is not None:
            await self.store.store_root(service, lookup.digest, scope, data, fetched.hint.max_age, stamp)

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
            entity, dependencies = _entity_entry(hit.body, service) if hit is not None else (None, ())
            if hit is not None and entity is not None:
                self._hit(hit)
                self._dependencies.update(dependencies)  # a whole response made with it depends on them too
            found.append(entity)
        count = sum(1 for entity in found if entity is not None)
        metrics.cache_lookup("entity", count, len(found) - count)
        return EntityLookup(keys, variants, found, started_ms)

    async def entity_store(
        self, lookup: EntityLookup, entities: Sequence[tuple[int, bytes]], fetched: Fetched | None
    ) -> None:
        """Store (index in the lookup, entity JSON) pairs fetched after the lookup."""
        if fetched is None or not entities:
            return
        scope = self.scope_for(fetched.hint)
        if scope is None:
            return
        listed = orjson.dumps(fetched.dependencies)
        entries = [(lookup.keys[i], lookup.variants[i] + b"|" + scope, _entity_body(body, listed))
                   for i, body in entities]
        await self.store.store_entities(entries, fetched.hint.max_age, lookup.started_ms)


def _entity_body(entity: bytes, listed: bytes) -> bytes:
    """What is stored for one entity: `[dependencies, entity]` (`listed`: the dependencies as JSON),
    so that a whole response made with it depends on what its `_entities` answer did (that answer's
    tags cover the whole batch). Past MAX_KEPT_DEPENDENCY_BYTES the bare entity, which counts as
    untagged: always safe, and it keeps a large batch of many-tagged entities from multiplying its
    tags into every entry."""
    if len(listed) > MAX_KEPT_DEPENDENCY_BYTES:
        return entity
    return b"[" + listed + b"," + entity + b"]"


def _entity_entry(body: bytes, service: str) -> tuple[dict[str, Any] | None, Dependencies]:
    """A cached entity and the dependencies of the response it came in: `[dependencies, entity]`, or
    a bare entity (stored before entries kept them, or past the bound) that depends on its subgraph
    untagged."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, ()
    if type(value) is dict:
        return value, (untagged(service),)
    if type(value) is list and len(value) == 2 and type(value[1]) is dict:
        dependencies = value[0]
        if type(dependencies) is list and dependencies and all(
                type(name) is str and subgraph_of(name) == service for name in dependencies):
            return value[1], tuple(dependencies)
        return value[1], (untagged(service),)
    return None, ()


def _loads(body: bytes | None) -> Any:
    if body is None:
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if type(value) is dict else None
