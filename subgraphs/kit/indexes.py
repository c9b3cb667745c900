"""Declared indexes, reconciled with what a collection has: create what is missing, replace what differs.

`create_index` alone refuses an index whose key pattern exists under another name or with other
options (MongoDB: IndexOptionsConflict, mongoeco: IndexKeySpecsConflict), and `collMod` is not on every
server (mongoeco has none), so a changed index (a TTL that became longer, a plain index that became a
TTL) is dropped and created again. Meanwhile queries fall back to other indexes; for a TTL index that
only postpones expiry. Run at start-up; concurrent starts converge (dropping an index already gone
is not an error).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.errors import OperationFailure

log = logging.getLogger(__name__)

Key = tuple[tuple[str, Any], ...]
INDEX_NOT_FOUND = 27
# The options compared when deciding whether an existing index is the declared one.
_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")


@dataclass(frozen=True)
class IndexSpec:
    """An index as declared: key pattern, name and options (`expire_after` in seconds makes it a TTL)."""

    keys: Sequence[tuple[str, Any]]
    name: str
    unique: bool = False
    sparse: bool = False
    expire_after: int | None = None
    partial: dict[str, Any] | None = field(default=None)

    def options(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.unique:
            found["unique"] = True
        if self.sparse:
            found["sparse"] = True
        if self.expire_after is not None:
            found["expireAfterSeconds"] = int(self.expire_after)
        if self.partial is not None:
            found["partialFilterExpression"] = self.partial
        return found


def ttl(field_name: str, seconds: int, name: str, partial: dict[str, Any] | None = None) -> IndexSpec:
    """Documents are removed `seconds` after the date in `field_name` (documents without one stay)."""
    return IndexSpec([(field_name, 1)], name, expire_after=seconds, partial=partial)


async def ensure_indexes(collection: Any, specs: Iterable[IndexSpec], *, obsolete: Iterable[str] = ()) -> None:
    """Make `collection` have each of `specs`; drop the indexes named in `obsolete` if present."""
    existing = await collection.index_information()
    for name in obsolete:
        if name in existing:
            await _drop(collection, name)
            existing.pop(name)
    for spec in specs:
        current = existing.get(spec.name)
        if current is not None and _matches(current, spec):
            continue
        for name, info in list(existing.items()):
            if name == spec.name or _normal_key(info.get("key", ())) == _normal_key(spec.keys):
                log.info("index %s.%s %s is replaced by %s", collection.name, name, info, spec)
                await _drop(collection, name)
                existing.pop(name)
        await collection.create_index(list(spec.keys), name=spec.name, **spec.options())


def _matches(info: dict[str, Any], spec: IndexSpec) -> bool:
    return (_normal_key(info.get("key", ())) == _normal_key(spec.keys)
            and _normal_options(info) == _normal_options(spec.options()))


async def _drop(collection: Any, name: str) -> None:
    try:
        await collection.drop_index(name)
    except OperationFailure as exc:
        if exc.code != INDEX_NOT_FOUND and "not found" not in str(exc).lower():
            raise


def _normal_key(key: Any) -> Key:
    pairs = key.items() if isinstance(key, dict) else key
    return tuple((str(f), int(d) if isinstance(d, int | float) else d) for f, d in pairs)


def _normal_options(info: dict[str, Any]) -> dict[str, Any]:
    found = {name: info[name] for name in _OPTIONS if info.get(name) not in (None, False)}
    if "expireAfterSeconds" in found:
        found["expireAfterSeconds"] = int(found["expireAfterSeconds"])
    return found
