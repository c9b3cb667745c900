"""The input of composition: one subgraph's name, routing URL and SDL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SubgraphSource:
    name: str  # e.g. "products"
    url: str  # routing_url
    sdl: str  # the subgraph's SDL as returned by `_service { sdl }`
