"""The providers a payment can use, by the name the order chose ("card" or "wallet")."""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis

from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.providers.base import PaymentProvider
from subgraphs.payments.providers.scenarios import card_scenario, wallet_scenario
from subgraphs.payments.providers.simulated import SimulatedProvider


class ProviderRegistry:
    def __init__(self, providers: Mapping[str, PaymentProvider]) -> None:
        self._providers = dict(providers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._providers)

    def get(self, name: str) -> PaymentProvider:
        try:
            return self._providers[name]
        except KeyError:
            raise KeyError(f"unknown payment provider {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._providers


def build_providers(redis: aioredis.Redis, config: PaymentsConfig) -> ProviderRegistry:
    common = {"redis": redis, "slow_seconds": config.slow_charge_seconds,
              "transient_failures": config.transient_failures}
    return ProviderRegistry({
        "card": SimulatedProvider(name="card", reference_prefix="ch", scenario_for=card_scenario, **common),
        "wallet": SimulatedProvider(name="wallet", reference_prefix="wtx", scenario_for=wallet_scenario, **common),
    })
