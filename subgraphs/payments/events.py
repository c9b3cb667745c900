"""The outcome events of payments, with deterministic ids (a repeated transition is one event)."""

from __future__ import annotations

from typing import Any

from subgraphs.kit.events import Event
from subgraphs.kit.events.types import PaymentFailed, PaymentProcessed, PaymentRefunded
from subgraphs.payments.domain import outcome_event_id

SOURCE = "payments"


def _subject(payment: dict[str, Any]) -> str:
    return f"payment:{payment['_id']}"


def processed(payment: dict[str, Any], attempt: int, reference: str) -> Event:
    return PaymentProcessed(
        payment_id=payment["_id"], order_id=payment["order_id"], user_id=payment["user_id"],
        amount=payment["amount"], currency=payment["currency"], provider=payment["provider"],
        provider_reference=reference,
    ).envelope(source=SOURCE, subject=_subject(payment),
               event_id=outcome_event_id("payment.processed", payment["_id"], attempt))


def failed(payment: dict[str, Any], attempt: int, *, reason: str, error_code: str, final: bool) -> Event:
    return PaymentFailed(
        payment_id=payment["_id"], order_id=payment["order_id"], user_id=payment["user_id"],
        amount=payment["amount"], currency=payment["currency"], provider=payment["provider"],
        reason=reason, error_code=error_code, final=final,
    ).envelope(source=SOURCE, subject=_subject(payment),
               event_id=outcome_event_id("payment.failed", payment["_id"], attempt))


def refunded(payment: dict[str, Any], refund: dict[str, Any], refunded_total: int) -> Event:
    return PaymentRefunded(
        payment_id=payment["_id"], order_id=payment["order_id"], user_id=payment["user_id"],
        amount=refund["amount"], currency=payment["currency"], refund_id=refund["id"],
        fully_refunded=refunded_total >= payment["captured_amount"],
    ).envelope(source=SOURCE, subject=_subject(payment),
               event_id=outcome_event_id("payment.refunded", payment["_id"], refund["id"]))
