"""The load test's parameters: one typed object, from flags or LOADTEST_* variables (flags win).

The shape: `before` seconds at the base rate, a `spike` of checkouts at `multiplier` x their base rate,
`after` seconds at the base rate again. At the base rate, `browse_share` of the requests are catalog
reads and the rest cart and checkout (three requests per checkout: add to cart, read the cart, place).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

# One browsing user reads once per BROWSE_PACE seconds; one buyer runs a checkout per CHECKOUT_PACE.
BROWSE_PACE = 1.0
CHECKOUT_PACE = 3.0
REQUESTS_PER_CHECKOUT = 3
# A browser's tasks by weight (locustfile.Browser): listing 4, search 3, by id 4, and 2 of paginating
# through three pages: 17 requests per 13 tasks.
REQUESTS_PER_BROWSE = 17 / 13


@dataclass(frozen=True)
class LoadSettings:
    base_rps: float = 20.0  # requests per second at the base rate, all kinds
    browse_share: float = 0.9
    multiplier: float = 10.0  # checkout rate during the spike / the base checkout rate
    before: float = 30.0  # seconds at the base rate before the spike
    spike: float = 60.0
    after: float = 30.0
    hold_seconds: float = 30.0  # ORDERS_HOLD_TTL_SECONDS: an unpaid order's stock is released after this
    hot_stock: int = 60  # units per variant of the limited "spike" product, so that it can sell out
    sample_interval: float = 1.0  # seconds between queue / consumer-lag samples
    window: float = 5.0  # seconds per point of the over-time plots
    seed: int = 1
    cache: int = 0  # 1: the gateway's entity and query cache on, with its hit rate and staleness reported

    @property
    def duration(self) -> float:
        return self.before + self.spike + self.after

    @property
    def browsers(self) -> int:
        return max(1, round(self.base_rps * self.browse_share * BROWSE_PACE / REQUESTS_PER_BROWSE))

    @property
    def base_buyers(self) -> int:
        checkouts_per_second = self.base_rps * (1 - self.browse_share) / REQUESTS_PER_CHECKOUT
        return max(1, round(checkouts_per_second * CHECKOUT_PACE))

    @property
    def spike_buyers(self) -> int:
        return max(self.base_buyers + 1, round(self.base_buyers * self.multiplier))

    def to_env(self) -> dict[str, str]:
        return {f"LOADTEST_{f.name.upper()}": str(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> LoadSettings:
        """LOADTEST_BASE_RPS, LOADTEST_SPIKE, ... then the keyword overrides that are not None."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"LOADTEST_{f.name.upper()}")
            if raw:
                kind = int if f.type in (int, "int") else float
                try:
                    values[f.name] = kind(raw)
                except ValueError:
                    raise ValueError(f"LOADTEST_{f.name.upper()}={raw!r} is not a number") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 0 < self.browse_share < 1:
            raise ValueError("browse_share must be between 0 and 1")
        for name in ("base_rps", "multiplier", "spike", "sample_interval", "window", "hold_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.before < 0 or self.after < 0 or self.hot_stock < 1:
            raise ValueError("before/after must be >= 0 and hot_stock >= 1")

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "browsers": self.browsers, "base_buyers": self.base_buyers,
                "spike_buyers": self.spike_buyers,
                "target checkouts/s (base -> spike)": f"{self.base_buyers / CHECKOUT_PACE:.2f} -> "
                                                      f"{self.spike_buyers / CHECKOUT_PACE:.2f}"}
