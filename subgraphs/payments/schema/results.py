"""Typed results of the mutations: domain refusals are payloads, not errors."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry

from subgraphs.kit.money import Money
from subgraphs.payments.domain import PaymentStatus
from subgraphs.payments.refunds import RefundOutcome
from subgraphs.payments.schema.entities import Payment
from subgraphs.payments.schema.types import Refund
from subgraphs.payments.service import RefundRefused, RetryRefused, RetryScheduled


@strawberry.enum
class RetryRefusalReason(enum.Enum):
    NOT_FAILED = "NOT_FAILED"
    FINAL_FAILURE = "FINAL_FAILURE"
    ORDER_CLOSED = "ORDER_CLOSED"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"


@strawberry.enum
class RefundRefusalReason(enum.Enum):
    NOT_CAPTURED = "NOT_CAPTURED"
    FULLY_REFUNDED = "FULLY_REFUNDED"
    EXCEEDS_REFUNDABLE = "EXCEEDS_REFUNDABLE"


@strawberry.type(description="A new attempt is queued (or was already, by a concurrent call).")
class PaymentRetryScheduled:
    payment: Payment
    attempt: int


@strawberry.type(description="The payment cannot be retried.")
class PaymentNotRetryable:
    payment: Payment
    status: PaymentStatus
    reason: RetryRefusalReason
    message: str


@strawberry.type(description="The provider refunded the amount.")
class PaymentRefundSucceeded:
    payment: Payment
    refund: Refund


@strawberry.type(description="The provider has not confirmed the refund yet; reconciliation finishes it.")
class PaymentRefundPending:
    payment: Payment
    refund: Refund


@strawberry.type(description="The provider refused the refund.")
class PaymentRefundFailed:
    payment: Payment
    refund: Refund
    error_code: str


@strawberry.type(description="More than what was captured (net of refunds) was asked for.")
class RefundExceedsCaptured:
    payment: Payment
    requested: Money
    refundable: Money
    message: str


@strawberry.type(description="Nothing of this payment can be refunded.")
class PaymentNotRefundable:
    payment: Payment
    status: PaymentStatus
    reason: RefundRefusalReason
    message: str


RetryPaymentResult = Annotated[PaymentRetryScheduled | PaymentNotRetryable, strawberry.union("RetryPaymentResult")]
RefundPaymentResult = Annotated[
    PaymentRefundSucceeded | PaymentRefundPending | PaymentRefundFailed | RefundExceedsCaptured | PaymentNotRefundable,
    strawberry.union("RefundPaymentResult"),
]


def retry_result(outcome: RetryScheduled | RetryRefused) -> PaymentRetryScheduled | PaymentNotRetryable:
    payment = Payment.from_document(outcome.payment)
    if isinstance(outcome, RetryScheduled):
        return PaymentRetryScheduled(payment=payment, attempt=outcome.payment["attempt"])
    return PaymentNotRetryable(payment=payment, status=PaymentStatus(outcome.payment["status"]),
                               reason=RetryRefusalReason(outcome.reason), message=outcome.message)


def refund_result(
    outcome: RefundOutcome | RefundRefused,
) -> PaymentRefundSucceeded | PaymentRefundPending | PaymentRefundFailed | RefundExceedsCaptured | PaymentNotRefundable:
    payment = Payment.from_document(outcome.payment)
    currency = outcome.payment["currency"]
    if isinstance(outcome, RefundRefused):
        if outcome.reason == "EXCEEDS_REFUNDABLE":
            return RefundExceedsCaptured(payment=payment, requested=Money(amount=outcome.requested, currency=currency),
                                         refundable=Money(amount=outcome.refundable, currency=currency),
                                         message=outcome.message)
        return PaymentNotRefundable(payment=payment, status=PaymentStatus(outcome.payment["status"]),
                                    reason=RefundRefusalReason(outcome.reason), message=outcome.message)
    refund = Refund.from_record(outcome.refund, currency)
    if outcome.refund["status"] == "SUCCEEDED":
        return PaymentRefundSucceeded(payment=payment, refund=refund)
    if outcome.refund["status"] == "FAILED":
        return PaymentRefundFailed(payment=payment, refund=refund, error_code=outcome.refund.get("error_code") or "")
    return PaymentRefundPending(payment=payment, refund=refund)
