"""The system's guarantees I1-I4 (docs/guarantees.md) as pure checks over a snapshot of its state.

`SystemState` is what the databases and Redis hold at rest (read by `tests.support.system_state`);
each `check_*` function returns the violations it finds, each with enough detail to debug it. The
chaos suite and the service tests share these checks; nothing here does I/O.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Where an order rests. PAID is not final (it may still be fulfilled or refunded) but nothing moves it
# on its own; AWAITING_PAYMENT must end (paid, cancelled, or expired) within the liveness bound.
RESTING_ORDER_STATUSES = frozenset({"PAID", "FULFILLED", "CANCELLED", "REFUNDED"})
STOCK_SOLD_STATUSES = frozenset({"PAID", "FULFILLED", "REFUNDED"})
OPEN_PAYMENT_STATUSES = frozenset({"PENDING", "PROCESSING"})


@dataclass(frozen=True)
class Violation:
    invariant: str  # "I1" .. "I4"
    rule: str  # a short name of the broken rule, e.g. "stock-conservation"
    subject: str  # what it is about: "order <id>", "sku <sku>", "event <id>", ...
    expected: Any = None
    actual: Any = None
    detail: str = ""

    def __str__(self) -> str:
        parts = [f"{self.invariant} {self.rule}: {self.subject}"]
        if self.expected is not None or self.actual is not None:
            parts.append(f"expected {self.expected!r}, actual {self.actual!r}")
        if self.detail:
            parts.append(self.detail)
        return "; ".join(parts)


# --- the state, as read from every store ---------------------------------------------------------


@dataclass(frozen=True)
class VariantStock:
    sku: str
    on_hand: int
    reserved: int
    available: int
    holds: Mapping[str, int]  # order id -> units


@dataclass(frozen=True)
class StockReservation:
    order_id: str
    state: str  # pending | reserved | released | committed
    lines: Mapping[str, int]  # sku -> units


@dataclass(frozen=True)
class Order:
    id: str
    status: str
    total: int
    currency: str
    lines: Mapping[str, int]  # sku -> units
    stock_state: str | None
    stock_pending: str | None


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    status: str  # PENDING | SUCCEEDED | FAILED


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: str
    status: str
    attempt: int
    amount: int
    captured: int
    refunded: int
    refunds: tuple[Refund, ...]


@dataclass(frozen=True)
class LedgerCharge:
    """A charge request the provider completed (succeeded or declined), under its idempotency key."""

    key: str
    payment_id: str
    succeeded: bool
    amount: int
    refunded: int


@dataclass(frozen=True)
class LedgerRefund:
    key: str  # the refund's idempotency key (payments' refund id)
    charge_key: str
    amount: int


@dataclass(frozen=True)
class Notification:
    id: str
    event_id: str
    channel: str
    recipient: str
    status: str
    sent_attempts: int


@dataclass(frozen=True)
class OutboxEvent:
    """An event a service wrote into its outbox (the record of what it published or must publish)."""

    id: str
    type: str
    source: str
    published: bool
    dead_letter_reason: str | None = None  # set when the relay dead-lettered it as a poison entry


@dataclass(frozen=True)
class ConsumerGroup:
    name: str
    handles: frozenset[str]  # event types it has a handler for
    processed: frozenset[str]  # event ids recorded as handled in its service's database
    dead_letters: Mapping[str, str]  # event id -> the reason it was dead-lettered
    pending: int  # delivered but not acknowledged (Redis)
    lag: int | None  # entries not yet delivered to the group (Redis; None when unknown)
    exists: bool = True


@dataclass
class SystemState:
    variants: dict[str, VariantStock] = field(default_factory=dict)
    reservations: dict[str, StockReservation] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    open_checkouts: list[str] = field(default_factory=list)  # attempts that never became an order
    payments: dict[str, Payment] = field(default_factory=dict)  # by payment id
    charges: list[LedgerCharge] = field(default_factory=list)
    refunds: list[LedgerRefund] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    outbox: list[OutboxEvent] = field(default_factory=list)
    groups: dict[str, ConsumerGroup] = field(default_factory=dict)

    def payment_of(self, order_id: str) -> Payment | None:
        return next((p for p in self.payments.values() if p.order_id == order_id), None)


# --- I1 stock -----------------------------------------------------------------------------------


def check_stock(state: SystemState, initial: Mapping[str, int], restocks: Mapping[str, int] | None = None
                ) -> list[Violation]:
    """I1: onHand + committed = initial + restocks per variant; reserved = the holds of orders awaiting
    payment; available = onHand - reserved >= 0; a sold order's stock is committed, a cancelled one's not."""
    restocks = restocks or {}
    found: list[Violation] = []
    committed: Counter[str] = Counter()
    for reservation in state.reservations.values():
        if reservation.state == "committed":
            committed.update(reservation.lines)
    for sku, variant in sorted(state.variants.items()):
        if sku not in initial:
            continue  # not part of this run's catalog
        expected = initial[sku] + restocks.get(sku, 0)
        actual = variant.on_hand + committed[sku]
        if actual != expected:
            found.append(Violation("I1", "stock-conservation", f"sku {sku}", expected, actual,
                                   f"onHand {variant.on_hand} + committed {committed[sku]} != initial {initial[sku]}"
                                   f" + restocks {restocks.get(sku, 0)}"))
        held = sum(variant.holds.values())
        if variant.reserved != held:
            found.append(Violation("I1", "reserved-equals-holds", f"sku {sku}", held, variant.reserved,
                                   f"holds {dict(variant.holds)}"))
        if variant.available < 0:
            found.append(Violation("I1", "available-not-negative", f"sku {sku}", ">= 0", variant.available))
        if variant.available != variant.on_hand - variant.reserved:
            found.append(Violation("I1", "available-equals-onhand-minus-reserved", f"sku {sku}",
                                   variant.on_hand - variant.reserved, variant.available))
        for order_id, units in sorted(variant.holds.items()):
            order = state.orders.get(order_id)
            if order is None or order.status != "AWAITING_PAYMENT":
                status = "no order" if order is None else order.status
                found.append(Violation("I1", "hold-of-order-awaiting-payment", f"sku {sku} order {order_id}",
                                       "AWAITING_PAYMENT", status, f"{units} units still held"))
            elif order.lines.get(sku) != units:
                found.append(Violation("I1", "hold-matches-order-line", f"sku {sku} order {order_id}",
                                       order.lines.get(sku), units))
    for order in sorted(state.orders.values(), key=lambda o: o.id):
        booked = state.reservations.get(order.id)
        reservation_state = booked.state if booked else None
        if order.status in STOCK_SOLD_STATUSES:
            if reservation_state != "committed":
                found.append(Violation("I1", "sold-order-stock-committed", f"order {order.id}", "committed",
                                       reservation_state, f"order is {order.status}"))
            elif booked is not None and dict(booked.lines) != dict(order.lines):
                found.append(Violation("I1", "committed-lines-match-order", f"order {order.id}",
                                       dict(order.lines), dict(booked.lines)))
        elif order.status == "CANCELLED" and reservation_state == "committed":
            found.append(Violation("I1", "cancelled-order-stock-not-committed", f"order {order.id}",
                                   "released", reservation_state))
    return found


# --- I2 money -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderTotals:
    charged: int
    refunded: int
    successful_charges: int

    @property
    def net(self) -> int:
        return self.charged - self.refunded


def provider_totals(state: SystemState) -> dict[str, ProviderTotals]:
    """What the provider's ledger says per payment id: captured, refunded, number of captures."""
    charged: Counter[str] = Counter()
    count: Counter[str] = Counter()
    by_key = {charge.key: charge for charge in state.charges}
    for charge in state.charges:
        if charge.succeeded:
            charged[charge.payment_id] += charge.amount
            count[charge.payment_id] += 1
    refunded: Counter[str] = Counter()
    for refund in state.refunds:
        refunded_charge = by_key.get(refund.charge_key)
        if refunded_charge is not None:
            refunded[refunded_charge.payment_id] += refund.amount
    ids = set(charged) | set(refunded)
    return {pid: ProviderTotals(charged[pid], refunded[pid], count[pid]) for pid in ids}


def check_money(state: SystemState) -> list[Violation]:
    """I2: per order at rest, the provider's net capture matches the order's status; payments agrees
    with the provider's ledger; refunded never exceeds captured."""
    found: list[Violation] = []
    totals = provider_totals(state)
    zero = ProviderTotals(0, 0, 0)
    for order in sorted(state.orders.values(), key=lambda o: o.id):
        payment = state.payment_of(order.id)
        ledger = totals.get(payment.id, zero) if payment else zero
        subject = f"order {order.id}"
        if order.status == "CANCELLED":
            if ledger.net != 0:
                found.append(Violation("I2", "cancelled-order-net-zero", subject, 0, ledger.net,
                                       f"provider charged {ledger.charged}, refunded {ledger.refunded}"))
        elif order.status in STOCK_SOLD_STATUSES:
            if ledger.charged != order.total:
                found.append(Violation("I2", "sold-order-captured-once", subject, order.total, ledger.charged,
                                       f"{ledger.successful_charges} successful charge(s) for an order "
                                       f"{order.status}"))
            expected_net = 0 if order.status == "REFUNDED" else order.total - ledger.refunded
            if ledger.net != expected_net:
                found.append(Violation("I2", "net-capture-matches-status", subject, expected_net, ledger.net,
                                       f"order {order.status}, provider refunded {ledger.refunded}"))
            if order.status != "REFUNDED" and ledger.charged and ledger.refunded >= ledger.charged:
                found.append(Violation("I2", "fully-refunded-order-is-refunded", subject, "REFUNDED", order.status,
                                       f"the provider refunded all {ledger.refunded}"))
    for payment in sorted(state.payments.values(), key=lambda p: p.id):
        ledger = totals.get(payment.id, zero)
        subject = f"payment {payment.id} (order {payment.order_id})"
        if payment.captured != ledger.charged:
            found.append(Violation("I2", "payment-captured-matches-ledger", subject, ledger.charged,
                                   payment.captured, f"payment is {payment.status}"))
        succeeded_refunds = sum(r.amount for r in payment.refunds if r.status == "SUCCEEDED")
        if payment.refunded != succeeded_refunds:
            found.append(Violation("I2", "payment-refunded-matches-its-refunds", subject, succeeded_refunds,
                                   payment.refunded))
        if payment.refunded != ledger.refunded:
            found.append(Violation("I2", "payment-refunded-matches-ledger", subject, ledger.refunded,
                                   payment.refunded))
        if payment.refunded > payment.captured:
            found.append(Violation("I2", "refunded-at-most-captured", subject, f"<= {payment.captured}",
                                   payment.refunded))
    for payment_id, ledger in sorted(totals.items()):
        if ledger.refunded > ledger.charged:
            found.append(Violation("I2", "ledger-refunded-at-most-captured", f"payment {payment_id}",
                                   f"<= {ledger.charged}", ledger.refunded))
        if payment_id not in state.payments:
            found.append(Violation("I2", "ledger-charge-has-payment", f"payment {payment_id}", "a payment record",
                                   None, f"the provider captured {ledger.charged}"))
    return found


# --- I3 effects once ----------------------------------------------------------------------------


def check_effects_once(state: SystemState) -> list[Violation]:
    """I3: one capture per order (attempts after a capture must not charge again), one refund per refund
    key, one notification per event x channel x recipient, each sent at most once."""
    found: list[Violation] = []
    for payment_id, totals in sorted(provider_totals(state).items()):
        if totals.successful_charges > 1:
            payment = state.payments.get(payment_id)
            order = payment.order_id if payment else "?"
            found.append(Violation("I3", "one-charge-per-order", f"payment {payment_id} (order {order})", 1,
                                   totals.successful_charges, f"captured {totals.charged} in total"))
    for key, count in sorted(Counter(r.key for r in state.refunds).items()):
        if count > 1:
            found.append(Violation("I3", "one-refund-per-key", f"refund key {key}", 1, count))
    refunds_by_key = {r.key: r for r in state.refunds}
    for payment in sorted(state.payments.values(), key=lambda p: p.id):
        for refund_id, count in sorted(Counter(r.id for r in payment.refunds).items()):
            if count > 1:
                found.append(Violation("I3", "refund-recorded-once", f"payment {payment.id} refund {refund_id}",
                                       1, count))
        for refund in payment.refunds:
            at_provider = refunds_by_key.get(refund.id)
            if refund.status == "SUCCEEDED" and (at_provider is None or at_provider.amount != refund.amount):
                found.append(Violation("I3", "succeeded-refund-at-provider", f"payment {payment.id} refund {refund.id}",
                                       refund.amount, at_provider.amount if at_provider else None))
            if refund.status == "FAILED" and at_provider is not None:
                found.append(Violation("I3", "failed-refund-not-at-provider",
                                       f"payment {payment.id} refund {refund.id}", None, at_provider.amount,
                                       "payments gave the amount back but the provider refunded it"))
    triples = Counter((n.event_id, n.channel, n.recipient) for n in state.notifications)
    for (event_id, channel, recipient), count in sorted(triples.items()):
        if count > 1:
            found.append(Violation("I3", "one-notification-per-event-channel-recipient",
                                   f"event {event_id} {channel} {recipient}", 1, count))
    for notification in state.notifications:
        if notification.sent_attempts > 1:
            found.append(Violation("I3", "notification-sent-once", f"notification {notification.id}", 1,
                                   notification.sent_attempts, f"event {notification.event_id}"))
    return found


# --- I4 liveness --------------------------------------------------------------------------------


def check_liveness(state: SystemState) -> list[Violation]:
    """I4, checked after quiescence: every order, payment, refund and notification rests; every event
    in an outbox is published, and handled by each group that handles its type or dead-lettered with a
    reason; no group has undelivered or unacknowledged entries."""
    found: list[Violation] = []
    for order in sorted(state.orders.values(), key=lambda o: o.id):
        if order.status not in RESTING_ORDER_STATUSES:
            found.append(Violation("I4", "order-rests", f"order {order.id}", "a resting status", order.status))
        if order.stock_pending:
            found.append(Violation("I4", "stock-call-done", f"order {order.id}", None, order.stock_pending,
                                   f"order is {order.status}"))
    for order_id in sorted(state.open_checkouts):
        found.append(Violation("I4", "checkout-attempt-ends", f"checkout {order_id}", "ended", "open"))
    for reservation in sorted(state.reservations.values(), key=lambda r: r.order_id):
        owner = state.orders.get(reservation.order_id)
        if reservation.state in ("pending", "reserved") and (owner is None or owner.status != "AWAITING_PAYMENT"):
            found.append(Violation("I4", "reservation-ends", f"reservation {reservation.order_id}",
                                   "released or committed", reservation.state,
                                   "no order" if owner is None else f"order is {owner.status}"))
    for payment in sorted(state.payments.values(), key=lambda p: p.id):
        if payment.status in OPEN_PAYMENT_STATUSES:
            found.append(Violation("I4", "payment-rests", f"payment {payment.id} (order {payment.order_id})",
                                   "a final payment status", payment.status))
        for refund in payment.refunds:
            if refund.status == "PENDING":
                found.append(Violation("I4", "refund-rests", f"payment {payment.id} refund {refund.id}",
                                       "SUCCEEDED or FAILED", refund.status))
    for notification in state.notifications:
        if notification.status == "QUEUED":
            found.append(Violation("I4", "notification-rests", f"notification {notification.id}",
                                   "SENT or FAILED", "QUEUED", f"event {notification.event_id}"))
    found.extend(_check_events(state.outbox, state.groups.values()))
    return found


def _check_events(outbox: Iterable[OutboxEvent], groups: Iterable[ConsumerGroup]) -> list[Violation]:
    found: list[Violation] = []
    groups = list(groups)
    for group in groups:
        if not group.exists:
            found.append(Violation("I4", "consumer-group-exists", f"group {group.name}", "exists", "missing"))
        if group.pending:
            found.append(Violation("I4", "group-acknowledged-everything", f"group {group.name}", 0, group.pending,
                                   "entries delivered but never acknowledged"))
        if group.lag:
            found.append(Violation("I4", "group-read-everything", f"group {group.name}", 0, group.lag,
                                   "entries never delivered to the group"))
        for event_id, reason in sorted(group.dead_letters.items()):
            if not reason:
                found.append(Violation("I4", "dead-letter-has-reason", f"group {group.name} event {event_id}",
                                       "a reason", reason))
    for event in sorted(outbox, key=lambda e: e.id):
        if event.dead_letter_reason is not None:
            if not event.dead_letter_reason:
                found.append(Violation("I4", "dead-letter-has-reason", f"outbox event {event.id} ({event.type})",
                                       "a reason", "", f"in the {event.source} outbox"))
            continue
        if not event.published:
            found.append(Violation("I4", "outbox-entry-published", f"event {event.id} ({event.type})",
                                   "published", "unpublished", f"in the {event.source} outbox"))
            continue
        for group in groups:
            if event.type in group.handles and event.id not in group.processed and event.id not in group.dead_letters:
                found.append(Violation("I4", "event-handled-or-dead-lettered",
                                       f"event {event.id} ({event.type}) group {group.name}",
                                       "handled or dead-lettered", "neither", f"published by {event.source}"))
    return found


INVARIANTS = ("I1", "I2", "I3", "I4")


def check_all(state: SystemState, initial: Mapping[str, int], restocks: Mapping[str, int] | None = None
              ) -> list[Violation]:
    return [*check_stock(state, initial, restocks), *check_money(state), *check_effects_once(state),
            *check_liveness(state)]


def count_by_invariant(violations: Iterable[Violation]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for violation in violations:
        counts[violation.invariant] += 1
    return {name: counts.get(name, 0) for name in INVARIANTS}
