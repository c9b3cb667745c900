"""What payments keeps: the order states it learned expire; the pending-refund sweep has its index."""

from __future__ import annotations

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.store import CLOSED_ORDER_RETENTION_SECONDS


async def test_closed_orders_expire_and_pending_refunds_are_indexed(core: PaymentsCore) -> None:
    closed = await core.store.closed_orders.index_information()
    assert closed["closed_orders_ttl"]["expireAfterSeconds"] == CLOSED_ORDER_RETENTION_SECONDS
    payments = await core.store.collection.index_information()
    assert [tuple(k) for k in payments["pending_refunds"]["key"]] == [("refunds.status", 1), ("refunds.created_at", 1)]
