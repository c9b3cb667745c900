"""The simulated providers' books per order, for checkers outside payments (the chaos suite).

    ledgers = await read_ledger(database)                       # a motor / mongomock database
    ledgers = await read_ledger_at("mongodb://...", "provider_ledger", order_ids=[...])
    ledgers[order_id].net                                       # captured minus refunded, minor units

Only what moved or could move money is listed: succeeded and declined charges (voided keys carry no
order and no money). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from subgraphs.payments.providers.ledger import CHARGES, DEFAULT_LEDGER_DATABASE


@dataclass(frozen=True)
class LedgerRefund:
    idempotency_key: str
    amount: int
    reference: str
    created_at: datetime


@dataclass(frozen=True)
class LedgerCharge:
    provider: str  # "card" | "wallet"
    idempotency_key: str  # "<paymentId>:<attempt>": one per payment attempt
    order_id: str
    status: str  # "succeeded" | "declined"
    amount: int  # captured (0 when declined)
    requested_amount: int
    currency: str
    reference: str
    refunded: int
    refunds: tuple[LedgerRefund, ...]
    created_at: datetime


@dataclass(frozen=True)
class OrderLedger:
    order_id: str
    charges: tuple[LedgerCharge, ...]

    @property
    def captured(self) -> int:
        return sum(c.amount for c in self.charges if c.status == "succeeded")

    @property
    def refunded(self) -> int:
        return sum(c.refunded for c in self.charges if c.status == "succeeded")

    @property
    def net(self) -> int:
        """What the provider holds of the customer's money for this order."""
        return self.captured - self.refunded

    @property
    def refunds(self) -> tuple[LedgerRefund, ...]:
        return tuple(r for c in self.charges for r in c.refunds)


def _charge(record: dict[str, Any]) -> LedgerCharge:
    return LedgerCharge(
        provider=record["provider"], idempotency_key=record["idempotency_key"], order_id=record["order_id"],
        status=record["status"], amount=int(record["amount"]), requested_amount=int(record["requested_amount"]),
        currency=record["currency"], reference=record["reference"], refunded=int(record.get("refunded") or 0),
        refunds=tuple(LedgerRefund(idempotency_key=r["key"], amount=int(r["amount"]), reference=r["reference"],
                                   created_at=r["created_at"]) for r in record.get("refunds", [])),
        created_at=record["created_at"],
    )


async def read_ledger(database: Any, order_ids: Iterable[str] | None = None) -> dict[str, OrderLedger]:
    """Every order's charges and refunds at the simulated providers (only `order_ids` when given)."""
    query: dict[str, Any] = {"status": {"$in": ["succeeded", "declined"]}}
    if order_ids is not None:
        query["order_id"] = {"$in": list(order_ids)}
    grouped: dict[str, list[LedgerCharge]] = {}
    async for record in database[CHARGES].find(query):
        grouped.setdefault(record["order_id"], []).append(_charge(record))
    return {order_id: OrderLedger(order_id, tuple(sorted(charges, key=lambda c: c.created_at)))
            for order_id, charges in grouped.items()}


async def read_ledger_at(
    mongodb_url: str, database: str = DEFAULT_LEDGER_DATABASE, order_ids: Iterable[str] | None = None
) -> dict[str, OrderLedger]:
    """`read_ledger` on a MongoDB server, with a client of its own (closed before returning)."""
    from motor.motor_asyncio import AsyncIOMotorClient

    client: Any = AsyncIOMotorClient(mongodb_url, tz_aware=True, serverSelectionTimeoutMS=5000)
    try:
        return await read_ledger(client[database], order_ids)
    finally:
        client.close()
