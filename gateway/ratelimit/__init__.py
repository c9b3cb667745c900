"""Per-client rate limits of the gateway, shared across instances through Redis (docs/edge.md).

The package exports only its leaf modules (rules, clients), which gateway.config reads; the limiter
itself (`.limiter`) depends on the planner, which depends on the config.
"""

from __future__ import annotations

from .clients import ClientIdentifier
from .rules import RateRule

__all__ = ["ClientIdentifier", "RateRule"]
