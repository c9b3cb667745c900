"""Cache tags: what a cached root fetch or whole response depends on, so that an invalidation voids
only what it touches.

A subgraph may name the things a response is made of in a `Cache-Tag` header (a comma-separated
list, as CDNs take it: `Cache-Tag: catalog, product:p-1, product:p-2`). Each entry then depends on:

- with tags: `S!` (the subgraph as a whole: `type` and `subgraph` invalidations) and `S#tag` per tag
  (a `tag` invalidation), so an `entity` invalidation, or a tag the entry lacks, leaves it alone;
- without tags: `S`, which every invalidation of the subgraph bumps (any entity may be in it).

A subgraph that tags its responses invalidates by tag too: it answers for the tags being complete.
An entry is stored under generations taken before its fetch started, so a fetch that raced an
invalidation cannot be kept. Which dependencies a lookup reads is learnt from the last response of
the same fetch (:class:`LearntDependencies`). When a response names dependencies its lookup did not
read (the first fetch of a tagged query), they are read after the fetch, and count only if the
lookup's read vouches for them (:func:`vouching`): every invalidation of a subgraph bumps its
untagged dependency in the same transaction, so while that one is unchanged, none of its tags
changed either.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import lru_cache

MAX_TAGS = 256
MAX_TAG_LENGTH = 200
MAX_LEARNT = 50_000

Dependencies = tuple[str, ...]


@lru_cache(maxsize=2048)
def parse_cache_tags(header: str | None) -> tuple[str, ...] | None:
    """The tags of a `Cache-Tag` value, sorted, each once; None (untagged) without one, or when it has
    more than MAX_TAGS tags or one longer than MAX_TAG_LENGTH (then the subgraph as a whole is the
    dependency, which is always safe)."""
    if header is None:
        return None
    tags = {tag.strip() for tag in header.split(",")}
    tags.discard("")
    if not tags or len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG_LENGTH for tag in tags):
        return None
    return tuple(sorted(tags))


def untagged(subgraph: str) -> str:
    """The dependency every invalidation of `subgraph` bumps."""
    return subgraph


def whole(subgraph: str) -> str:
    """The dependency of tagged entries that `type` and `subgraph` invalidations bump."""
    return f"{subgraph}!"


def tagged(subgraph: str, tag: str) -> str:
    return f"{subgraph}#{tag}"


def fetch_dependencies(subgraph: str, tags: tuple[str, ...] | None) -> Dependencies:
    if tags is None:
        return (untagged(subgraph),)
    return (whole(subgraph), *[tagged(subgraph, tag) for tag in tags])


def subgraph_of(dependency: str) -> str:
    return dependency.partition("#")[0].removesuffix("!")


def vouching(dependency: str, read: Collection[str]) -> str | None:
    """Which dependency `read` at a lookup vouches for `dependency` being unchanged since, if any: the
    dependency itself, or its subgraph's untagged one (bumped with every invalidation of it)."""
    if dependency in read:
        return dependency
    sentinel = untagged(subgraph_of(dependency))
    return sentinel if sentinel in read else None


def merged(parts: Iterable[str]) -> Dependencies:
    """Dependencies as one canonical tuple: each once, sorted (fetches may finish in any order)."""
    return tuple(sorted(set(parts)))


class LearntDependencies:
    """Per worker: the dependencies the last response of a fetch or a whole query had, by its key.
    Bounded: past MAX_LEARNT keys it starts afresh (a key it forgot costs one store, not a stale hit)."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[str, Dependencies] = {}

    def get(self, key: str, default: Dependencies) -> Dependencies:
        return self._known.get(key, default)

    def learn(self, key: str, dependencies: Dependencies) -> None:
        known = self._known
        if known.get(key) == dependencies:
            return
        if len(known) >= MAX_LEARNT:
            known.clear()
        known[key] = dependencies
