"""Settings of the orders domain read from the environment (the kit's Settings covers the rest)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from subgraphs.kit.settings import service_url

DEFAULT_HOLD_TTL_SECONDS = 15 * 60
DEFAULT_STALE_CHECKOUT_SECONDS = 10 * 60


@dataclass(frozen=True)
class OrdersConfig:
    products_url: str
    hold_ttl: timedelta = timedelta(seconds=DEFAULT_HOLD_TTL_SECONDS)
    # A checkout attempt older than this never produced an order: its reserved stock is released.
    stale_checkout_after: timedelta = timedelta(seconds=DEFAULT_STALE_CHECKOUT_SECONDS)
    # How long a live subscription blocks on Redis before it also checks Mongo for a lost change.
    subscription_block_ms: int = 2000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OrdersConfig:
        env = os.environ if env is None else env
        hold = float(env.get("ORDERS_HOLD_TTL_SECONDS") or DEFAULT_HOLD_TTL_SECONDS)
        stale = float(env.get("ORDERS_STALE_CHECKOUT_SECONDS") or DEFAULT_STALE_CHECKOUT_SECONDS)
        if hold <= 0 or stale <= 0:
            raise ValueError("ORDERS_HOLD_TTL_SECONDS and ORDERS_STALE_CHECKOUT_SECONDS must be positive")
        return cls(
            products_url=service_url("products", env),
            hold_ttl=timedelta(seconds=hold),
            stale_checkout_after=timedelta(seconds=stale),
        )
