"""Orders' scrape-time gauges: orders per status (index status_orders), the outbox."""

from __future__ import annotations

from typing import Any

from subgraphs.kit.metrics import Source, counts_source, outbox_source
from subgraphs.orders.domain import OrderStatus


def sources(services: Any) -> list[Source]:
    by_status = counts_source("orders_by_status", "orders per status", lambda: services.store.orders,
                              [({"status": s.value}, {"status": s.value}) for s in OrderStatus])
    return [by_status, outbox_source(lambda: services.relay.collections)]
