"""Products-only settings (the kit's `Settings` carries what every service shares)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from subgraphs.kit.settings import env_flag

MAX_RETENTION_DAYS = 36500


@dataclass(frozen=True)
class ProductsConfig:
    """`PRODUCTS_CACHE` (default on) switches the Redis catalog cache; `PRODUCTS_CACHE_TTL` is its
    backstop in seconds; `PRODUCTS_CACHE_REPAIR_SECONDS` (1): how often each instance applies the
    recorded invalidations Redis refused (the staleness bound after one); `PRODUCTS_SEED_DEMO` seeds
    the demo catalog into an empty database at start-up (default: only into a database private to
    this process; `make dev` turns it on for its shared server). `PRODUCTS_CART_RETENTION_DAYS`
    (30): a cart unchanged that long is removed; `PRODUCTS_RESERVATION_RETENTION_DAYS` (30): how
    long a released or committed stock reservation is kept after its last change (pending and
    reserved ones are never removed).

    The gateway's cache (docs/gateway.md): catalog reads say `public, max-age=PRODUCTS_CATALOG_MAX_AGE`
    (60), reads of stock and availability `PRODUCTS_STOCK_MAX_AGE` (5; 0: not cached); carts and `me`
    are never cached. With `GATEWAY_CACHE_INVALIDATION_URL` and `_TOKEN`, every catalog or stock write is
    also sent to the gateway's invalidation endpoint through the event stream (kit.gateway_cache)."""

    cache_enabled: bool = True
    cache_ttl_seconds: int = 300
    cache_repair_seconds: float = 1.0
    seed_demo: bool | None = None
    cart_retention_days: float = 30
    reservation_retention_days: float = 30
    catalog_max_age: int = 60
    stock_max_age: int = 5
    gateway_invalidation_url: str | None = None
    gateway_invalidation_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProductsConfig:
        env = os.environ if env is None else env
        return cls(
            cache_enabled=env_flag(env.get("PRODUCTS_CACHE"), default=True),
            cache_ttl_seconds=max(1, int(env.get("PRODUCTS_CACHE_TTL", "300"))),
            cache_repair_seconds=_seconds(env, "PRODUCTS_CACHE_REPAIR_SECONDS", 1.0),
            seed_demo=None if not env.get("PRODUCTS_SEED_DEMO", "").strip()
            else env_flag(env.get("PRODUCTS_SEED_DEMO"), default=False),
            cart_retention_days=_days(env, "PRODUCTS_CART_RETENTION_DAYS", 30),
            reservation_retention_days=_days(env, "PRODUCTS_RESERVATION_RETENTION_DAYS", 30),
            catalog_max_age=_max_age(env, "PRODUCTS_CATALOG_MAX_AGE", 60),
            stock_max_age=_max_age(env, "PRODUCTS_STOCK_MAX_AGE", 5),
            gateway_invalidation_url=env.get("GATEWAY_CACHE_INVALIDATION_URL") or None,
            gateway_invalidation_token=env.get("GATEWAY_CACHE_INVALIDATION_TOKEN") or None,
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        seconds = float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < seconds <= 3600:
        raise ValueError(f"{name} must be more than 0 and at most 3600 seconds, not {raw!r}")
    return seconds


def _days(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        days = float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number of days, not {raw!r}") from None
    if not 0 < days <= MAX_RETENTION_DAYS:
        raise ValueError(f"{name} must be more than 0 and at most {MAX_RETENTION_DAYS} days, not {raw!r}")
    return days


def _max_age(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    try:
        seconds = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number of seconds, not {raw!r}") from None
    if not 0 <= seconds <= 86400:
        raise ValueError(f"{name} must be 0..86400 seconds, not {raw!r}")
    return seconds
