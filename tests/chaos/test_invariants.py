"""The invariant checks themselves: a consistent state passes, each kind of damage is named."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.invariants import (
    ConsumerGroup,
    LedgerCharge,
    LedgerRefund,
    Notification,
    Order,
    OutboxEvent,
    Payment,
    Refund,
    StockReservation,
    SystemState,
    VariantStock,
    check_all,
    check_effects_once,
    check_liveness,
    check_money,
    check_stock,
)
from tests.support.system_state import Databases

INITIAL = {"A": 10, "B": 5}


def consistent() -> SystemState:
    """Three orders at rest: paid (2 A), cancelled (1 B), paid then half refunded (1 A + 1 B)."""
    state = SystemState()
    state.variants = {
        "A": VariantStock("A", on_hand=7, reserved=0, available=7, holds={}),
        "B": VariantStock("B", on_hand=4, reserved=0, available=4, holds={}),
    }
    state.orders = {
        "o1": Order("o1", "PAID", 200, "EUR", {"A": 2}, "committed", None),
        "o2": Order("o2", "CANCELLED", 50, "EUR", {"B": 1}, "released", None),
        "o3": Order("o3", "PAID", 150, "EUR", {"A": 1, "B": 1}, "committed", None),
    }
    state.reservations = {
        "o1": StockReservation("o1", "committed", {"A": 2}),
        "o2": StockReservation("o2", "released", {"B": 1}),
        "o3": StockReservation("o3", "committed", {"A": 1, "B": 1}),
    }
    state.payments = {
        "p1": Payment("p1", "o1", "SUCCEEDED", 1, 200, 200, 0, ()),
        "p2": Payment("p2", "o2", "FAILED", 1, 50, 0, 0, ()),
        "p3": Payment("p3", "o3", "PARTIALLY_REFUNDED", 1, 150, 150, 75, (Refund("r1", 75, "SUCCEEDED"),)),
    }
    state.charges = [
        LedgerCharge("p1:1", "p1", True, 200, 0),
        LedgerCharge("p2:1", "p2", False, 50, 0),
        LedgerCharge("p3:1", "p3", True, 150, 75),
    ]
    state.refunds = [LedgerRefund("r1", "p3:1", 75)]
    state.notifications = [Notification("n1", "e1", "EMAIL", "a@x", "SENT", 1)]
    state.outbox = [OutboxEvent("e1", "order.created", "orders", True),
                    OutboxEvent("e2", "payment.processed", "payments", True)]
    state.groups = {
        "payments": ConsumerGroup("payments", frozenset({"order.created"}), frozenset({"e1"}), {}, 0, 0),
        "orders": ConsumerGroup("orders", frozenset({"payment.processed"}), frozenset({"e2"}), {}, 0, 0),
    }
    return state


def rules(violations: list) -> set[str]:
    return {v.rule for v in violations}


def test_a_consistent_state_has_no_violation() -> None:
    assert check_all(consistent(), INITIAL) == []


def test_a_paid_order_without_committed_stock_is_an_oversell() -> None:
    state = consistent()
    state.reservations["o1"] = StockReservation("o1", "released", {"A": 2})
    state.variants["A"] = VariantStock("A", on_hand=9, reserved=0, available=9, holds={})
    found = check_stock(state, INITIAL)
    assert "sold-order-stock-committed" in rules(found)
    assert "stock-conservation" not in rules(found)  # the units are back on hand: nothing lost, but sold twice


def test_units_lost_or_made_up_break_conservation() -> None:
    state = consistent()
    state.variants["B"] = VariantStock("B", on_hand=5, reserved=0, available=5, holds={})
    [violation] = check_stock(state, INITIAL)
    assert (violation.rule, violation.subject, violation.expected, violation.actual) == (
        "stock-conservation", "sku B", 5, 6)


def test_holds_must_belong_to_orders_awaiting_payment_and_add_up() -> None:
    state = consistent()
    state.variants["B"] = VariantStock("B", on_hand=4, reserved=2, available=2, holds={"o2": 1})
    assert rules(check_stock(state, INITIAL)) == {"reserved-equals-holds", "hold-of-order-awaiting-payment"}


def test_available_below_zero() -> None:
    state = consistent()
    state.variants["A"] = VariantStock("A", on_hand=7, reserved=0, available=-1, holds={})
    assert {"available-not-negative", "available-equals-onhand-minus-reserved"} <= rules(check_stock(state, INITIAL))


def test_a_cancelled_order_that_was_charged_keeps_money() -> None:
    state = consistent()
    state.charges[1] = LedgerCharge("p2:1", "p2", True, 50, 0)
    found = check_money(state)
    assert rules(found) == {"cancelled-order-net-zero", "payment-captured-matches-ledger"}
    assert next(v for v in found if v.rule == "cancelled-order-net-zero").actual == 50


def test_a_second_capture_after_a_retry_is_a_double_charge() -> None:
    state = consistent()
    state.charges.append(LedgerCharge("p1:2", "p1", True, 200, 0))
    assert "one-charge-per-order" in rules(check_effects_once(state))
    assert "sold-order-captured-once" in rules(check_money(state))


def test_refunds_must_agree_between_payments_and_the_provider() -> None:
    state = consistent()
    state.payments["p3"] = dataclasses.replace(state.payments["p3"], refunded=150)
    assert {"payment-refunded-matches-its-refunds", "payment-refunded-matches-ledger"} <= rules(check_money(state))
    state = consistent()
    state.refunds.append(LedgerRefund("r2", "p3:1", 100))  # the provider refunded more than was captured
    assert {"ledger-refunded-at-most-captured", "payment-refunded-matches-ledger"} <= rules(check_money(state))


def test_a_fully_refunded_order_must_say_so() -> None:
    state = consistent()
    state.refunds.append(LedgerRefund("r2", "p3:1", 75))
    state.payments["p3"] = Payment("p3", "o3", "REFUNDED", 1, 150, 150, 150,
                                   (Refund("r1", 75, "SUCCEEDED"), Refund("r2", 75, "SUCCEEDED")))
    assert rules(check_money(state)) == {"fully-refunded-order-is-refunded"}


def test_effects_twice() -> None:
    state = consistent()
    state.refunds.append(LedgerRefund("r1", "p3:1", 75))
    state.notifications += [Notification("n2", "e1", "EMAIL", "a@x", "SENT", 2)]
    assert {"one-refund-per-key", "one-notification-per-event-channel-recipient",
            "notification-sent-once"} <= rules(check_effects_once(state))


def test_nothing_may_be_left_in_flight() -> None:
    state = consistent()
    state.orders["o4"] = Order("o4", "AWAITING_PAYMENT", 10, "EUR", {"A": 1}, "reserved", None)
    state.orders["o1"] = dataclasses.replace(state.orders["o1"], stock_pending="commit")
    state.payments["p1"] = dataclasses.replace(state.payments["p1"], status="PROCESSING")
    state.open_checkouts = ["o5"]
    state.reservations["o5"] = StockReservation("o5", "reserved", {"B": 1})
    state.notifications.append(Notification("n3", "e1", "PUSH", "dev", "QUEUED", 0))
    assert rules(check_liveness(state)) == {"order-rests", "stock-call-done", "payment-rests",
                                            "checkout-attempt-ends", "reservation-ends", "notification-rests"}


def test_every_published_event_is_handled_or_dead_lettered_by_each_group() -> None:
    state = consistent()
    state.outbox.append(OutboxEvent("e3", "order.created", "orders", True))  # lost on the way to payments
    state.outbox.append(OutboxEvent("e4", "order.created", "orders", False))  # never published
    [lost, unpublished] = sorted(check_liveness(state), key=lambda v: v.subject)
    assert (lost.rule, lost.subject) == ("event-handled-or-dead-lettered", "event e3 (order.created) group payments")
    assert unpublished.rule == "outbox-entry-published"
    state.outbox.pop()
    state.groups["payments"] = dataclasses.replace(state.groups["payments"], dead_letters={"e3": "ValueError: bad"})
    assert check_liveness(state) == []
    state.groups["payments"] = dataclasses.replace(state.groups["payments"], dead_letters={"e3": ""}, pending=1)
    assert rules(check_liveness(state)) == {"dead-letter-has-reason", "group-acknowledged-everything"}


def test_a_poison_outbox_entry_counts_as_dead_lettered_only_with_its_reason() -> None:
    state = consistent()
    state.outbox.append(OutboxEvent("e5", "order.created", "orders", False, dead_letter_reason="ValueError: bad"))
    assert check_liveness(state) == []
    state.outbox[-1] = OutboxEvent("e5", "order.created", "orders", False, dead_letter_reason="")
    assert rules(check_liveness(state)) == {"dead-letter-has-reason"}


async def test_quiesce_answers_a_read_begun_after_one_that_found_nothing_in_flight(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A release landing between a read's products and orders parts gives a torn read: the order is
    settled, the hold it dropped still shows. quiesce must not answer that read."""
    from tests.chaos import harness

    in_flight = consistent()
    in_flight.variants["B"] = VariantStock("B", on_hand=4, reserved=1, available=3, holds={"o2": 1})
    in_flight.orders["o2"] = dataclasses.replace(in_flight.orders["o2"], stock_pending="release")
    torn = consistent()
    torn.variants["B"] = in_flight.variants["B"]  # products read before the release, orders after it
    reads = iter([in_flight, torn, consistent()])
    taken: list[SystemState] = []

    async def read_state(*_: object) -> SystemState:
        taken.append(next(reads))
        return taken[-1]

    monkeypatch.setattr(harness, "read_state", read_state)
    assert check_liveness(torn) == [] and rules(check_all(torn, INITIAL)) == {"hold-of-order-awaiting-payment"}
    state, settled = await harness.quiesce("mongodb://unused", "redis://unused", Databases(), 30,
                                           interval=0, say=lambda line: None)
    assert settled and len(taken) == 3
    assert check_all(state, INITIAL) == []
