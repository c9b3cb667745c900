"""Invalidation requests: what the POST endpoint and a subgraph's `extensions.invalidation` carry.

A request is a JSON list of items:

- `{"kind": "entity", "subgraph": "products", "type": "Product", "key": {"id": "1"}}`: every cached
  variant of one entity (any selection, any user), and the subgraph's untagged cached root queries
  and whole responses;
- `{"kind": "type", "subgraph": "products", "type": "Product"}`: every entity of the type, and every
  cached root query and whole response of the subgraph, tagged or not;
- `{"kind": "tag", "subgraph": "products", "tag": "product:1"}`: every cached root query and whole
  response whose subgraph response carried the tag (`Cache-Tag`, :mod:`.tags`), and the subgraph's
  untagged ones;
- `{"kind": "subgraph", "subgraph": "products"}`: everything cached from the subgraph.

An `entity` invalidation leaves tagged entries alone: a subgraph that tags its responses sends the
tags of what changed.

In a subgraph's response `subgraph` may be left out: it is the subgraph that answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .tags import MAX_TAG_LENGTH, tagged, untagged, whole

KINDS = ("entity", "type", "tag", "subgraph")
MAX_ITEMS = 1000


class InvalidationError(ValueError):
    """The request is malformed; the message says how (a 400 at the endpoint)."""


@dataclass(frozen=True, slots=True)
class Invalidation:
    kind: str
    subgraph: str
    type: str | None = None
    key: dict[str, Any] | None = None
    tag: str | None = None

    def dependencies(self) -> tuple[str, ...]:
        """The dependencies (:mod:`.tags`) this invalidation bumps."""
        if self.kind == "entity":
            return (untagged(self.subgraph),)
        if self.kind == "tag":
            assert self.tag is not None
            return (untagged(self.subgraph), tagged(self.subgraph, self.tag))
        return (untagged(self.subgraph), whole(self.subgraph))


def parse_invalidations(raw: Any, default_subgraph: str | None = None) -> list[Invalidation]:
    """The items of a request; raises :class:`InvalidationError` naming the first bad one."""
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise InvalidationError("an invalidation request is a JSON list of items")
    if len(raw) > MAX_ITEMS:
        raise InvalidationError(f"at most {MAX_ITEMS} items per request")
    return [_item(item, index, default_subgraph) for index, item in enumerate(raw)]


def _item(item: Any, index: int, default_subgraph: str | None) -> Invalidation:
    where = f"item {index}"
    if not isinstance(item, dict):
        raise InvalidationError(f"{where}: an item is a JSON object")
    kind = item.get("kind")
    if kind not in KINDS:
        raise InvalidationError(f"{where}: kind must be one of {', '.join(KINDS)}")
    subgraph = item.get("subgraph", default_subgraph)
    if not isinstance(subgraph, str) or not subgraph:
        raise InvalidationError(f"{where}: subgraph must be a subgraph name")
    if kind == "subgraph":
        return Invalidation("subgraph", subgraph)
    if kind == "tag":
        tag = item.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG_LENGTH or "," in tag:
            raise InvalidationError(f"{where}: tag must be a tag of 1-{MAX_TAG_LENGTH} characters without a comma")
        return Invalidation("tag", subgraph, tag=tag.strip())
    type_name = item.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise InvalidationError(f"{where}: type must be a type name")
    if kind == "type":
        return Invalidation("type", subgraph, type_name)
    key = item.get("key")
    if not isinstance(key, dict) or not key:
        raise InvalidationError(f"{where}: key must be an object of the entity's key fields")
    return Invalidation("entity", subgraph, type_name, key)
