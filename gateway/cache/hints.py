"""A subgraph response's cache hint, read from its `Cache-Control` header.

No header, `no-store`, `no-cache` or no positive `max-age` (`s-maxage` wins over it) mean: not
cached. `private` scopes the entry to the requesting user; anything else is shared (public).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class CacheHint:
    max_age: int
    private: bool


@lru_cache(maxsize=256)
def parse_cache_control(header: str | None) -> CacheHint | None:
    """The hint of one `Cache-Control` value (the few distinct values a subgraph sends are memoised)."""
    if not header:
        return None
    max_age: int | None = None
    shared_max_age: int | None = None
    private = False
    for directive in header.lower().split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip()
        if name in ("no-store", "no-cache"):
            return None
        if name == "private":
            private = True
        elif name in ("max-age", "s-maxage"):
            try:
                seconds = int(value.strip().strip('"'))
            except ValueError:
                return None  # a malformed hint is no hint
            if name == "max-age":
                max_age = seconds
            else:
                shared_max_age = seconds
    chosen = shared_max_age if shared_max_age is not None and not private else max_age
    if chosen is None or chosen <= 0:
        return None
    return CacheHint(chosen, private)
