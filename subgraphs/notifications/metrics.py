"""Notifications' scrape-time gauges: notifications per channel and status, the outbox."""

from __future__ import annotations

from typing import Any

from subgraphs.kit.metrics import Source, counts_source, outbox_source
from subgraphs.notifications.model import Channel, Status


def sources(service: Any) -> list[Source]:
    """`service` is the app's NotificationService (its store exists once the app started)."""

    def collection() -> Any:
        return service.store.notifications

    filters = [({"channel": c.value, "status": s.value}, {"status": s.value, "channel": c.value})
               for c in Channel for s in Status]
    return [counts_source("notifications_by_status", "notifications per channel and status", collection, filters),
            outbox_source(lambda: [collection()])]
