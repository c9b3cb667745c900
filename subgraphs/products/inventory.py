"""Stock reservations for orders: all lines or none, idempotent per order id, never overselling.

No multi-document transactions. The reservation document (`_id` = order id) is created first, in state
`pending`, by exactly one caller (the unique `_id` decides), which owns it under a lease. Each line is
then held with a conditional single-document update on the product (see `store.CatalogStore.hold`):
holds are keyed by order id, so a line is never held twice for one order, even when a caller that
crashed is resumed by a retry after its lease ran out. If a line cannot be held, the lines already held
are released (compensation) and the pending document is removed, so nothing stays held and a later
retry starts afresh. Otherwise the document moves `pending -> reserved` with a conditional update.

`release` moves `pending|reserved -> released`, `commit` moves `reserved -> committed`, each with a
conditional update, and then drops the holds of every line (back to available, or out of stock on hand).
Dropping a hold is itself conditional on the hold being there, so a retried release or commit, or one
that raced another, changes nothing more. A reserving caller that finds its reservation released under
it (the order was cancelled) drops the holds it placed.
"""

from __future__ import annotations

import asyncio
import enum
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.kit.clock import utcnow
from subgraphs.kit.errors import BadUserInput
from subgraphs.kit.mongo import Database
from subgraphs.products.cache import CatalogCache
from subgraphs.products.catalog import Catalog
from subgraphs.products.ids import require_order_id
from subgraphs.products.store import CatalogStore, HoldOutcome

RESERVATIONS = "reservations"
LEASE_SECONDS = 30.0
MAX_LINES = 100
MAX_LINE_QUANTITY = 1_000_000


class ReservationState(enum.Enum):
    PENDING = "pending"
    RESERVED = "reserved"
    RELEASED = "released"
    COMMITTED = "committed"


@dataclass(frozen=True)
class Reservation:
    order_id: str
    state: ReservationState
    lines: list[dict[str, Any]]

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Reservation:
        return cls(doc["_id"], ReservationState(doc["state"]), doc["lines"])


@dataclass(frozen=True)
class Insufficient:
    sku: str
    requested: int
    available: int


@dataclass(frozen=True)
class Unknown:
    sku: str


ReserveOutcome = Reservation | Insufficient | Unknown


def _merge_lines(lines: list[tuple[str, int]]) -> dict[str, int]:
    if not lines:
        raise BadUserInput("a reservation needs at least one line", argument="lines")
    if len(lines) > MAX_LINES:
        raise BadUserInput(f"at most {MAX_LINES} lines", argument="lines")
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        if quantity <= 0 or quantity > MAX_LINE_QUANTITY:
            raise BadUserInput(f"quantity of {sku!r} must be between 1 and {MAX_LINE_QUANTITY}", argument="lines")
        merged[sku] = merged.get(sku, 0) + quantity
    return merged


class Inventory:
    def __init__(self, db: Database, catalog: Catalog, store: CatalogStore, cache: CatalogCache) -> None:
        self.reservations: Any = db[RESERVATIONS]
        self.catalog = catalog
        self.store = store
        self.cache = cache

    async def ensure_indexes(self) -> None:
        await self.reservations.create_index("state")

    async def reserve(self, order_id: str, lines: list[tuple[str, int]]) -> ReserveOutcome:
        require_order_id(order_id)
        wanted = _merge_lines(lines)
        deadline = time.monotonic() + LEASE_SECONDS + 5
        while True:
            existing = await self.reservations.find_one({"_id": order_id})
            owner = uuid.uuid4().hex
            if existing is None:
                priced = await self._priced_lines(wanted)
                if isinstance(priced, Unknown):
                    return priced
                try:
                    await self.reservations.insert_one({
                        "_id": order_id, "state": ReservationState.PENDING.value, "lines": priced,
                        "owner": owner, "lease_until": utcnow() + timedelta(seconds=LEASE_SECONDS),
                        "created_at": utcnow(), "updated_at": utcnow(),
                    })
                except DuplicateKeyError:
                    continue  # another caller created it first: look again
                doc = await self.reservations.find_one({"_id": order_id})
                if doc is None:
                    continue
            elif existing["state"] != ReservationState.PENDING.value:
                return Reservation.from_doc(existing)
            else:
                doc = await self.reservations.find_one_and_update(
                    {"_id": order_id, "state": ReservationState.PENDING.value, "lease_until": {"$lt": utcnow()}},
                    {"$set": {"owner": owner, "lease_until": utcnow() + timedelta(seconds=LEASE_SECONDS)}},
                    return_document=ReturnDocument.AFTER,
                )
                if doc is None:  # its owner is still at work: wait for the outcome
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"reservation {order_id} stayed pending")
                    await asyncio.sleep(0.05)
                    continue
            return await self._hold_all(doc, owner)

    async def _priced_lines(self, wanted: dict[str, int]) -> list[dict[str, Any]] | Unknown:
        found = await self.catalog.by_skus(list(wanted))
        lines = []
        for sku, quantity in wanted.items():
            if sku not in found:
                return Unknown(sku)
            product, variant = found[sku]
            lines.append({
                "sku": sku, "quantity": quantity, "variant_id": variant["id"], "product_id": product["_id"],
                "product_name": product["name"], "unit_price": variant["price"],
            })
        return lines

    async def _hold_all(self, doc: dict[str, Any], owner: str) -> ReserveOutcome:
        order_id = doc["_id"]
        touched: list[str] = []
        failure: Insufficient | Unknown | None = None
        try:
            for line in doc["lines"]:
                result = await self.store.hold(line["sku"], line["quantity"], order_id)
                if result.outcome is HoldOutcome.HELD and result.product_id is not None:
                    touched.append(result.product_id)
                elif result.outcome is HoldOutcome.UNKNOWN:
                    failure = Unknown(line["sku"])
                elif result.outcome is HoldOutcome.INSUFFICIENT:
                    failure = Insufficient(line["sku"], line["quantity"], result.available)
                if failure is not None:
                    break
            if failure is not None:
                await self._drop_holds(doc["lines"], order_id, commit=False)
                await self.reservations.delete_one(
                    {"_id": order_id, "owner": owner, "state": ReservationState.PENDING.value})
                return failure
            done = await self.reservations.find_one_and_update(
                {"_id": order_id, "owner": owner, "state": ReservationState.PENDING.value},
                {"$set": {"state": ReservationState.RESERVED.value, "updated_at": utcnow()},
                 "$unset": {"owner": "", "lease_until": ""}},
                return_document=ReturnDocument.AFTER,
            )
            if done is not None:
                return Reservation.from_doc(done)
            # Released (or taken over) while we worked: whoever owns it now decides.
            current = await self.reservations.find_one({"_id": order_id})
            if current is None or current["state"] == ReservationState.RELEASED.value:
                await self._drop_holds(doc["lines"], order_id, commit=False)
            if current is None:
                raise RuntimeError(f"reservation {order_id} vanished while reserving")
            return Reservation.from_doc(current)
        finally:
            await self.cache.invalidate(touched)

    async def release(self, order_id: str) -> Reservation | None:
        """Hand the held units back. None for an order that has no reservation."""
        return await self._finish(order_id, ReservationState.RELEASED,
                                  (ReservationState.PENDING, ReservationState.RESERVED), commit=False)

    async def commit(self, order_id: str) -> Reservation | None:
        """The order is paid: its held units leave stock on hand. None for an order with no reservation."""
        return await self._finish(order_id, ReservationState.COMMITTED, (ReservationState.RESERVED,), commit=True)

    async def _finish(self, order_id: str, target: ReservationState, sources: tuple[ReservationState, ...],
                      *, commit: bool) -> Reservation | None:
        require_order_id(order_id)
        await self.reservations.update_one(
            {"_id": order_id, "state": {"$in": [s.value for s in sources]}},
            {"$set": {"state": target.value, "updated_at": utcnow()}},
        )
        doc = await self.reservations.find_one({"_id": order_id})
        if doc is None:
            return None
        if doc["state"] == target.value:
            # Also on a repeat: finishes the work of a call that died between its two steps.
            await self._drop_holds(doc["lines"], order_id, commit=commit)
        return Reservation.from_doc(doc)

    async def _drop_holds(self, lines: list[dict[str, Any]], order_id: str, *, commit: bool) -> None:
        touched = [pid for line in lines
                   if (pid := await self.store.drop_hold(line["sku"], order_id, commit=commit)) is not None]
        await self.cache.invalidate(touched)
