"""Products-only settings (the kit's `Settings` carries what every service shares)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from subgraphs.kit.settings import env_flag


@dataclass(frozen=True)
class ProductsConfig:
    """`PRODUCTS_CACHE` (default on) switches the Redis catalog cache; `PRODUCTS_CACHE_TTL` is its
    backstop in seconds; `PRODUCTS_SEED_DEMO` seeds the demo catalog into an empty database at
    start-up (default: only into a database private to this process; `make dev` turns it on for
    its shared server)."""

    cache_enabled: bool = True
    cache_ttl_seconds: int = 300
    seed_demo: bool | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProductsConfig:
        env = os.environ if env is None else env
        return cls(
            cache_enabled=env_flag(env.get("PRODUCTS_CACHE"), default=True),
            cache_ttl_seconds=max(1, int(env.get("PRODUCTS_CACHE_TTL", "300"))),
            seed_demo=None if not env.get("PRODUCTS_SEED_DEMO", "").strip()
            else env_flag(env.get("PRODUCTS_SEED_DEMO"), default=False),
        )
