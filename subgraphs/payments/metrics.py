"""Payments' scrape-time gauges: payments by status, the circuit breaker per provider, the outbox."""

from __future__ import annotations

from typing import Any

from subgraphs.kit.metrics import Sample, Source, counts_source, outbox_source
from subgraphs.payments.breaker import CircuitState
from subgraphs.payments.domain import PaymentStatus


def sources(state: Any) -> list[Source]:
    """`state` is the app's PaymentsState (its core exists once the app started)."""

    def collection() -> Any:
        return state.core.store.collection

    async def breakers() -> list[Sample]:
        out: list[Sample] = []
        for provider, breaker in sorted(state.core.breakers.items()):
            current = await breaker.state()
            out += [Sample("payments_circuit_breaker_state", "1 for the provider's current breaker state",
                           {"provider": provider, "state": s.value}, 1.0 if s is current else 0.0)
                    for s in CircuitState]
        return out

    by_status = counts_source("payments_by_status", "payments per status (index by_status)", collection,
                              [({"status": s.value}, {"status": s.value}) for s in PaymentStatus])
    return [by_status, breakers, outbox_source(lambda: [collection()])]
