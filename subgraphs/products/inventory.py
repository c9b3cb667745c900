"""Stock reservations for orders: all lines or none, idempotent per order id, never overselling.

No multi-document transactions. The reservation document (`_id` = order id) is created first, in state
`pending`, by exactly one caller (the unique `_id` decides), which owns it under a lease. Each line is
then held with a conditional single-document update on the product (see `store.CatalogStore.hold`):
holds are keyed by order id, so a line is never held twice for one order, even when a caller that
crashed is resumed by a retry after its lease ran out. If a line cannot be held, the lines already held
are released (compensation) and the pending document is removed (released, for a numbered attempt:
see Attempts), so nothing stays held and a later retry starts afresh. Otherwise the document moves
`pending -> reserved` with a conditional update.

`release` moves `pending|reserved -> released`, `commit` moves `reserved -> committed`, each with a
conditional update, and then drops the holds of every line (back to available, or out of stock on hand).
Dropping a hold is itself conditional on the hold being there, so a retried release or commit, or one
that raced another, changes nothing more. A reserving caller that finds its reservation released under
it drops the holds it placed.

Attempts. orders numbers its checkout attempts of an order id and sends the number. A held reservation
answers any attempt and records the highest it was asked for, and a release for an attempt (the
stale-checkout sweep's) applies only if no higher attempt asked since: a live retry wins over a sweep
that decided on older knowledge. A released reservation is never answered as held (`Released`): it is
held afresh only for an attempt above every attempt it has seen (a retry the sweep did not know of),
never for one at or below (a late call of the attempt that was swept), and never after a release with
no attempt (the order was cancelled: final). A release for an attempt of an order with no reservation
leaves a released one, so a late reserve of that attempt holds nothing; so does a hold that finds too
little stock, so a late reserve of an older attempt (orders ended the checkout on the shortage) holds
nothing either. Each fresh hold is a new
incarnation whose holds carry their own key (`hold_key`), so a late finisher of an earlier release or a
late reserver of an earlier incarnation never drops or joins them.
"""

from __future__ import annotations

import asyncio
import enum
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
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


def hold_key(order_id: str, incarnation: int) -> str:
    """The key of an order's holds on its variants. Order ids never contain `~` (see ids.py)."""
    return order_id if incarnation == 0 else f"{order_id}~{incarnation}"


@dataclass(frozen=True)
class Reservation:
    order_id: str
    state: ReservationState
    lines: list[dict[str, Any]]
    attempt: int = 0

    @property
    def held(self) -> bool:
        return self.state is ReservationState.RESERVED

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Reservation:
        return cls(doc["_id"], ReservationState(doc["state"]), doc["lines"], int(doc.get("attempt") or 0))


@dataclass(frozen=True)
class Released:
    """Released, and not held afresh for the attempt asked: only for one above `attempt`, unless final."""

    order_id: str
    attempt: int
    final: bool


@dataclass(frozen=True)
class Insufficient:
    sku: str
    requested: int
    available: int


@dataclass(frozen=True)
class Unknown:
    sku: str


ReserveOutcome = Reservation | Released | Insufficient | Unknown


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


def _check_attempt(attempt: int) -> int:
    if attempt < 0:
        raise BadUserInput("an attempt is a number from 0", argument="attempt")
    return attempt


def _incarnation(doc: dict[str, Any]) -> int:
    return int(doc.get("incarnation") or 0)


def _floor(doc: dict[str, Any]) -> int:
    """The highest attempt a reservation has seen: a fresh hold needs an attempt above it."""
    return max(int(doc.get("attempt") or 0), int(doc.get("released_attempt") or 0))


def _released(doc: dict[str, Any]) -> Released:
    return Released(doc["_id"], _floor(doc), bool(doc.get("final")))


def _lease() -> datetime:
    return utcnow() + timedelta(seconds=LEASE_SECONDS)


class Inventory:
    def __init__(self, db: Database, catalog: Catalog, store: CatalogStore, cache: CatalogCache) -> None:
        self.reservations: Any = db[RESERVATIONS]
        self.catalog = catalog
        self.store = store
        self.cache = cache

    async def ensure_indexes(self) -> None:
        await self.reservations.create_index("state")

    async def reserve(self, order_id: str, lines: list[tuple[str, int]], attempt: int = 0) -> ReserveOutcome:
        require_order_id(order_id)
        wanted = _merge_lines(lines)
        _check_attempt(attempt)
        deadline = time.monotonic() + LEASE_SECONDS + 5
        while True:
            doc = await self.reservations.find_one({"_id": order_id})
            outcome: ReserveOutcome | None
            if doc is None:
                outcome = await self._reserve_new(order_id, wanted, attempt)
            elif doc["state"] == ReservationState.RESERVED.value:
                outcome = await self._adopt(order_id, attempt)
            elif doc["state"] == ReservationState.COMMITTED.value:
                return Reservation.from_doc(doc)  # not held: its units have left stock
            elif doc["state"] == ReservationState.RELEASED.value:
                outcome = await self._reserve_again(doc, wanted, attempt)
            else:
                outcome = await self._resume_pending(order_id, attempt)
                if outcome is None:  # its owner is still at work: wait for the outcome
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"reservation {order_id} stayed pending")
                    await asyncio.sleep(0.05)
            if outcome is not None:
                return outcome
            # None: the document changed under us; look again.

    async def _reserve_new(self, order_id: str, wanted: dict[str, int], attempt: int) -> ReserveOutcome | None:
        priced = await self._priced_lines(wanted)
        if isinstance(priced, Unknown):
            return priced
        owner = uuid.uuid4().hex
        doc = {"_id": order_id, "state": ReservationState.PENDING.value, "lines": priced, "attempt": attempt,
               "released_attempt": 0, "incarnation": 0, "owner": owner, "lease_until": _lease(),
               "created_at": utcnow(), "updated_at": utcnow()}
        try:
            await self.reservations.insert_one(doc)
        except DuplicateKeyError:
            return None  # another caller created it first
        return await self._hold_all(doc, owner)

    async def _adopt(self, order_id: str, attempt: int) -> Reservation | None:
        """A held reservation answers any attempt; recording the highest fences releases for older ones."""
        held = await self.reservations.find_one_and_update(
            {"_id": order_id, "state": ReservationState.RESERVED.value}, {"$max": {"attempt": attempt}},
            return_document=ReturnDocument.AFTER)
        return Reservation.from_doc(held) if held is not None else None

    async def _reserve_again(self, doc: dict[str, Any], wanted: dict[str, int], attempt: int
                             ) -> ReserveOutcome | None:
        """A fresh hold (a new incarnation) for a released reservation, only for a higher attempt."""
        order_id = doc["_id"]
        if doc.get("final") or attempt <= _floor(doc):
            return _released(doc)
        # Finish the release this document records, in case its caller died before dropping the holds.
        await self._drop_holds(doc["lines"], hold_key(order_id, _incarnation(doc)), commit=False)
        priced = await self._priced_lines(wanted)
        if isinstance(priced, Unknown):
            return priced
        owner = uuid.uuid4().hex
        again = await self.reservations.find_one_and_update(
            {"_id": order_id, "state": ReservationState.RELEASED.value, "final": {"$ne": True},
             "incarnation": doc.get("incarnation"), "attempt": {"$not": {"$gte": attempt}},
             "released_attempt": {"$not": {"$gte": attempt}}},
            {"$set": {"state": ReservationState.PENDING.value, "lines": priced, "attempt": attempt,
                      "incarnation": _incarnation(doc) + 1, "again": True, "owner": owner,
                      "lease_until": _lease(), "updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        return await self._hold_all(again, owner) if again is not None else None

    async def _resume_pending(self, order_id: str, attempt: int) -> ReserveOutcome | None:
        """Take over a pending reservation whose owner's lease ran out; None while its owner works."""
        owner = uuid.uuid4().hex
        doc = await self.reservations.find_one_and_update(
            {"_id": order_id, "state": ReservationState.PENDING.value, "lease_until": {"$lt": utcnow()}},
            {"$set": {"owner": owner, "lease_until": _lease()}, "$max": {"attempt": attempt}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return await self._hold_all(doc, owner)
        # Someone at this attempt waits for it: a release for an older attempt must leave it be.
        await self.reservations.update_one({"_id": order_id, "state": ReservationState.PENDING.value},
                                           {"$max": {"attempt": attempt}})
        return None

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

    async def _hold_all(self, doc: dict[str, Any], owner: str) -> ReserveOutcome | None:
        order_id = doc["_id"]
        key = hold_key(order_id, _incarnation(doc))
        touched: list[str] = []
        failure: Insufficient | Unknown | None = None
        mine = {"_id": order_id, "owner": owner, "state": ReservationState.PENDING.value}
        done_fields = {"owner": "", "lease_until": "", "again": ""}
        try:
            for line in doc["lines"]:
                result = await self.store.hold(line["sku"], line["quantity"], key)
                if result.outcome is HoldOutcome.HELD and result.product_id is not None:
                    touched.append(result.product_id)
                elif result.outcome is HoldOutcome.UNKNOWN:
                    failure = Unknown(line["sku"])
                elif result.outcome is HoldOutcome.INSUFFICIENT:
                    failure = Insufficient(line["sku"], line["quantity"], result.available)
                if failure is not None:
                    break
            if failure is not None:
                await self._drop_holds(doc["lines"], key, commit=False)
                if doc["attempt"]:
                    # Released for this attempt, not removed: orders ends the checkout on this answer, so a
                    # late call of an older attempt (held up on the way) must find the attempts fenced off.
                    await self.reservations.update_one(mine, {
                        "$set": {"state": ReservationState.RELEASED.value, "updated_at": utcnow()},
                        "$max": {"released_attempt": doc["attempt"]}, "$unset": done_fields})
                else:  # a caller without attempt numbers: nothing to fence, the next call starts afresh
                    await self.reservations.delete_one(mine)
                return failure
            done = await self.reservations.find_one_and_update(
                mine,
                {"$set": {"state": ReservationState.RESERVED.value, "updated_at": utcnow()}, "$unset": done_fields},
                return_document=ReturnDocument.AFTER,
            )
            if done is not None:
                return Reservation.from_doc(done)
            # Released, or taken over after our lease ran out, while we worked.
            current = await self.reservations.find_one({"_id": order_id})
            if current is None:
                raise RuntimeError(f"reservation {order_id} vanished while reserving")
            same = _incarnation(current) == _incarnation(doc)
            if not same or current["state"] == ReservationState.RELEASED.value:
                await self._drop_holds(doc["lines"], key, commit=False)
            if not same or current["state"] == ReservationState.PENDING.value:
                return None  # a newer incarnation, or the owner that took over, decides
            if current["state"] == ReservationState.RELEASED.value:
                return _released(current)
            return Reservation.from_doc(current)
        finally:
            if touched:  # nothing held, nothing changed
                await self.cache.invalidate(touched, stock=True)

    async def release(self, order_id: str, attempt: int | None = None) -> Reservation | None:
        """Hand the held units back. With `attempt`, only if no higher attempt asked for them since, and
        a reservation released this way may be held afresh by a higher attempt; without, for good (the
        order was cancelled). None for an order that has no reservation (and no attempt was given)."""
        require_order_id(order_id)
        states = [ReservationState.PENDING.value, ReservationState.RESERVED.value, ReservationState.RELEASED.value]
        released = {"state": ReservationState.RELEASED.value, "updated_at": utcnow()}
        if attempt is None:
            await self.reservations.update_one({"_id": order_id, "state": {"$in": states}},
                                               {"$set": {**released, "final": True}})
        else:
            _check_attempt(attempt)
            await self.reservations.update_one(
                {"_id": order_id, "state": {"$in": states}, "attempt": {"$not": {"$gt": attempt}}},
                {"$set": released, "$max": {"released_attempt": attempt}})
        doc = await self.reservations.find_one({"_id": order_id})
        if doc is None and attempt is not None:
            if not await self._leave_released(order_id, attempt):
                return await self.release(order_id, attempt)  # a reserve created it meanwhile
            doc = await self.reservations.find_one({"_id": order_id})
        if doc is None:
            return None
        if doc["state"] == ReservationState.RELEASED.value:
            # Also on a repeat: finishes the work of a call that died between its two steps.
            await self._drop_holds(doc["lines"], hold_key(order_id, _incarnation(doc)), commit=False)
        return Reservation.from_doc(doc)

    async def _leave_released(self, order_id: str, attempt: int) -> bool:
        """Record a released reservation for an order with none; False when one was created meanwhile."""
        try:
            result = await self.reservations.update_one({"_id": order_id}, {"$setOnInsert": {
                "state": ReservationState.RELEASED.value, "lines": [], "attempt": attempt,
                "released_attempt": attempt, "incarnation": 0, "created_at": utcnow(), "updated_at": utcnow(),
            }}, upsert=True)
        except DuplicateKeyError:
            return False
        return result.upserted_id is not None

    async def commit(self, order_id: str) -> Reservation | None:
        """The order is paid: its held units leave stock on hand. None for an order with no reservation."""
        require_order_id(order_id)
        await self.reservations.update_one(
            {"_id": order_id, "state": ReservationState.RESERVED.value},
            {"$set": {"state": ReservationState.COMMITTED.value, "updated_at": utcnow()}},
        )
        doc = await self.reservations.find_one({"_id": order_id})
        if doc is None:
            return None
        if doc["state"] == ReservationState.COMMITTED.value:
            # Also on a repeat: finishes the work of a call that died between its two steps.
            await self._drop_holds(doc["lines"], hold_key(order_id, _incarnation(doc)), commit=True)
        return Reservation.from_doc(doc)

    async def _drop_holds(self, lines: list[dict[str, Any]], key: str, *, commit: bool) -> None:
        for line in lines:
            await self.store.drop_hold(line["sku"], key, commit=commit)
        # Every line's product, dropped now or not: a repeat finishes the work of a call that died
        # between dropping its holds and invalidating them.
        touched = [line["product_id"] for line in lines if line.get("product_id")]
        if touched:
            await self.cache.invalidate(touched, stock=True)
