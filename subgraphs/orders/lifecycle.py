"""Status changes of an order: one conditional single-document update per transition.

The update checks the status and version it was decided on, sets the new status, appends the
timeline entry and the outbox event, records an owed stock call and bumps the version. Then the
relay is woken, the change is streamed for live subscribers and the stock call is made. A commit that
cannot happen (products holds no units for the order and has none to hold again) cancels the paid order.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from subgraphs.kit.clock import as_utc, utcnow
from subgraphs.kit.events import Event, outbox_entry
from subgraphs.kit.events.types import OrderCancelled, OrderFulfilled, OrderPaid, OrderRefunded
from subgraphs.orders.compensation import RETRY_GRACE, StockCompensator, StockResult
from subgraphs.orders.domain import (
    ORDER_ID_NAMESPACE,
    STOCK_ACTION_ON_ENTER,
    OrderStatus,
    StockAction,
    can_transition,
)
from subgraphs.orders.status_stream import StatusChange, StatusStream
from subgraphs.orders.store import Document, OrderStore

log = logging.getLogger(__name__)

SOURCE = "orders"
MAX_CONFLICT_RETRIES = 8
STOCK_UNAVAILABLE_REASON = ("stock could not be committed: products holds none for the order and none is left; "
                            "the payment is refunded")


@dataclass(frozen=True)
class Transitioned:
    order: Document


@dataclass(frozen=True)
class IllegalTransition:
    current: OrderStatus
    target: OrderStatus
    order: Document


@dataclass(frozen=True)
class NotDue:
    """An expiry that came before the hold ends (or for an order no longer awaiting payment)."""

    order: Document


TransitionOutcome = Transitioned | IllegalTransition | NotDue


def event_id_for(order_id: str, version: int) -> str:
    """Deterministic: re-running the same transition can never publish a second, different event."""
    return uuid.uuid5(ORDER_ID_NAMESPACE, f"{order_id}:status:{version}").hex


def status_event(order: Document, target: OrderStatus, reason: str, version: int, details: dict[str, Any]
                 ) -> Event:
    order_id, number, user_id = order["_id"], order["number"], order["user_id"]
    subject = f"order:{order_id}"
    event_id = event_id_for(order_id, version)
    if target is OrderStatus.PAID:
        return OrderPaid(order_id=order_id, order_number=number, user_id=user_id, total_amount=order["total"],
                         currency=order["currency"], payment_id=details.get("payment_id")
                         ).envelope(source=SOURCE, subject=subject, event_id=event_id)
    if target is OrderStatus.CANCELLED:
        return OrderCancelled(order_id=order_id, order_number=number, user_id=user_id, reason=reason
                              ).envelope(source=SOURCE, subject=subject, event_id=event_id)
    if target is OrderStatus.FULFILLED:
        return OrderFulfilled(order_id=order_id, order_number=number, user_id=user_id
                              ).envelope(source=SOURCE, subject=subject, event_id=event_id)
    if target is OrderStatus.REFUNDED:
        return OrderRefunded(order_id=order_id, order_number=number, user_id=user_id, total_amount=order["total"],
                             currency=order["currency"], refund_id=details.get("refund_id"), reason=reason
                             ).envelope(source=SOURCE, subject=subject, event_id=event_id)
    raise ValueError(f"no event for entering {target.value}")


class OrderLifecycle:
    def __init__(
        self,
        store: OrderStore,
        stream: StatusStream,
        compensator: StockCompensator,
        notify_relay: Callable[[], None],
    ) -> None:
        self.store = store
        self.stream = stream
        self.compensator = compensator
        self.notify_relay = notify_relay

    async def transition(
        self,
        order_id: str,
        target: OrderStatus,
        reason: str,
        *,
        details: dict[str, Any] | None = None,
        only_if_hold_expired: bool = False,
        system: bool = False,
    ) -> TransitionOutcome | None:
        """Move the order to `target`; None when there is no such order. `system` also allows the
        transitions only orders itself takes (domain.SYSTEM_TRANSITIONS)."""
        details = details or {}
        for _ in range(MAX_CONFLICT_RETRIES):
            order = await self.store.get(order_id)
            if order is None:
                return None
            current = OrderStatus(order["status"])
            if only_if_hold_expired and (
                current is not OrderStatus.AWAITING_PAYMENT or as_utc(order["hold_expires_at"]) > utcnow()
            ):
                return NotDue(order)
            if not can_transition(current, target, system=system):
                return IllegalTransition(current=current, target=target, order=order)
            version = int(order["version"]) + 1
            now = utcnow()
            entry = {"version": version, "at": now, "from": current.value, "to": target.value, "reason": reason}
            set_fields: Document = {"status": target.value, "updated_at": now}
            action = STOCK_ACTION_ON_ENTER.get(target)
            if action is not None:
                set_fields["stock.pending"] = action.value
                set_fields["stock.requested_at"] = now
            if details.get("payment_id"):
                set_fields["payment_id"] = details["payment_id"]
            updated = await self.store.apply_transition(
                order_id=order_id, from_status=current, from_version=int(order["version"]),
                set_fields=set_fields, timeline_entry=entry,
                outbox=outbox_entry(status_event(order, target, reason, version, details)),
            )
            if updated is None:
                continue  # changed meanwhile: decide again on the fresh document
            log.info("order %s: %s -> %s (%s)", order_id, current.value, target.value, reason)
            self.notify_relay()
            await self.stream.append(StatusChange.from_timeline(order_id, entry))
            if action is not None:
                await self.settle_stock(order_id, action)
            return Transitioned(updated)
        raise RuntimeError(f"order {order_id} kept changing while moving it to {target.value}")

    async def settle_stock(self, order_id: str, action: StockAction) -> StockResult:
        """Make the owed stock call; a commit that cannot happen cancels the paid order."""
        result = await self.compensator.run(order_id, action)
        if result is StockResult.UNAVAILABLE:
            outcome = await self.transition(order_id, OrderStatus.CANCELLED, STOCK_UNAVAILABLE_REASON, system=True)
            if not isinstance(outcome, Transitioned):
                log.error("order %s has no stock to commit and cannot be cancelled (%s)", order_id, outcome)
                await self.compensator.store.record_stock_failure(order_id, action, "no stock to commit")
        return result

    async def retry_stock_actions(self, grace: timedelta = RETRY_GRACE) -> int:
        """Retry every owed stock call older than the grace period; returns how many succeeded."""
        done = 0
        cutoff = utcnow() - grace
        for document in await self.store.pending_stock_actions():
            stock = document.get("stock") or {}
            requested_at = stock.get("requested_at")
            if requested_at is not None and as_utc(requested_at) > cutoff:
                continue
            if await self.settle_stock(document["_id"], StockAction(stock["pending"])) is StockResult.DONE:
                done += 1
        return done
