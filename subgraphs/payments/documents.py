"""Building payment documents and the job payload that can rebuild one.

A payment method is a provider token; a card number (kit.cards) is never stored: it is blanked here
and the order's payment fails (`invalid_payment_method`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from subgraphs.kit.cards import looks_like_card_number
from subgraphs.kit.events.types import OrderCreated
from subgraphs.kit.tracing import with_context
from subgraphs.payments.domain import OrderState, PaymentStatus, job_id_for, payment_id_for

# The fields a process_payment job carries: enough to recreate the payment if the store lacks it.
SPEC_FIELDS = ("order_id", "order_number", "user_id", "amount", "currency", "provider", "payment_token", "attempt")


def new_payment(order: OrderCreated, now: datetime) -> dict[str, Any]:
    payment_id = payment_id_for(order.order_id)
    card_number = looks_like_card_number(order.payment_token)
    return with_context({
        "_id": payment_id,
        "order_id": order.order_id,
        "order_number": order.order_number,
        "user_id": order.user_id,
        "amount": order.total_amount,
        "currency": order.currency.upper(),
        "provider": order.payment_provider,
        "payment_token": "" if card_number else order.payment_token,
        "card_number_refused": card_number,
        "status": PaymentStatus.PENDING.value,
        "attempt": 1,
        "job_id": job_id_for(payment_id, 1),
        "attempts": [],
        "refunds": [],
        "refunds_version": 0,
        "outcome_unknown": None,
        "failure": None,
        "provider_reference": None,
        "captured_amount": 0,
        "refunded_amount": 0,
        "refundable_amount": 0,
        "order_state": OrderState.OPEN.value,
        "reconcile_round": 0,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
        "outbox": [],
    })


def job_spec(payment: dict[str, Any]) -> dict[str, Any]:
    return {name: payment[name] for name in SPEC_FIELDS}


def payment_from_spec(spec: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The payment a job describes, for a store that lost it (the insert is a no-op when it exists)."""
    order = OrderCreated(
        order_id=spec["order_id"], order_number=spec.get("order_number", ""), user_id=spec["user_id"],
        total_amount=int(spec["amount"]), currency=spec["currency"], lines=[],
        payment_provider=spec["provider"], payment_token=spec.get("payment_token", ""),
    )
    document = new_payment(order, now)
    attempt = int(spec.get("attempt", 1))
    document["attempt"] = attempt
    document["job_id"] = job_id_for(document["_id"], attempt)
    return document
