"""The providers a payment can use, by the name the order chose ("card" or "wallet")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from subgraphs.payments.providers.base import PaymentProvider
from subgraphs.payments.providers.scenarios import Scenario, card_scenario, wallet_scenario
from subgraphs.payments.providers.simulated import SimulatedProvider

if TYPE_CHECKING:  # config reads the fault plan from this package
    from subgraphs.payments.config import PaymentsConfig


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


async def build_providers(ledger_database: Any, config: PaymentsConfig) -> ProviderRegistry:
    """The simulated card and wallet providers, keeping their books in `ledger_database`."""

    def simulated(name: str, reference_prefix: str, scenario_for: Callable[[str], Scenario]) -> SimulatedProvider:
        return SimulatedProvider(name=name, reference_prefix=reference_prefix, scenario_for=scenario_for,
                                 ledger_database=ledger_database, slow_seconds=config.slow_charge_seconds,
                                 transient_failures=config.transient_failures, faults=config.provider_faults)

    providers = {"card": simulated("card", "ch", card_scenario), "wallet": simulated("wallet", "wtx", wallet_scenario)}
    for provider in providers.values():
        await provider.ledger.ensure_indexes()
    return ProviderRegistry(providers)
