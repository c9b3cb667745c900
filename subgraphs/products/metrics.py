"""Products' scrape-time gauges: stock reservations per state (indexed on `state`)."""

from __future__ import annotations

from typing import Any

from subgraphs.kit.metrics import Source, counts_source
from subgraphs.products.inventory import ReservationState


def sources(service: Any) -> list[Source]:
    """`service` is the app's ProductsService (its inventory exists once the app started)."""
    return [counts_source("products_reservations", "stock reservations per state",
                          lambda: service.inventory.reservations,
                          [({"state": s.value}, {"state": s.value}) for s in ReservationState])]
