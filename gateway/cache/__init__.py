"""The gateway's response and entity cache in Redis (docs/gateway.md, "Entity and query cache").

Off unless configured (`GATEWAY_CACHE=1`). It follows the subgraphs' `Cache-Control` hints
(:mod:`.hints`), keeps `_entities` results per entity and root query results per fetch (:mod:`.store`),
scoped per user for private data (:mod:`.request_cache`), and drops entries on invalidation
(:mod:`.invalidation`): the POST endpoint and the `extensions.invalidation` of subgraph responses.
Whole responses are also kept in process (:mod:`.local`), voided by the invalidations every instance
hears over Redis pub/sub (:mod:`.listener`).
"""

from .hints import CacheHint, parse_cache_control
from .invalidation import Invalidation, InvalidationError, parse_invalidations
from .request_cache import RequestCache
from .store import CacheStore, CacheUnavailable

__all__ = [
    "CacheHint",
    "CacheStore",
    "CacheUnavailable",
    "Invalidation",
    "InvalidationError",
    "RequestCache",
    "parse_cache_control",
    "parse_invalidations",
]
