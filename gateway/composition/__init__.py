"""Apollo Federation 2 composition: subgraph SDLs in, supergraph SDL (join spec v0.5) out."""

from __future__ import annotations

from .compose import compose
from .config import compose_config, load_supergraph_config
from .errors import CompositionError, CompositionIssue, SubgraphUnavailable
from .source import SubgraphSource

__all__ = [
    "CompositionError",
    "CompositionIssue",
    "SubgraphSource",
    "SubgraphUnavailable",
    "compose",
    "compose_config",
    "load_supergraph_config",
]
