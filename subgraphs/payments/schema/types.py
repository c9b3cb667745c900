"""Value types and enums of the payments schema."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import strawberry

from subgraphs.kit.money import Money
from subgraphs.payments.domain import AttemptOutcome, PaymentStatus, RefundStatus

strawberry.enum(PaymentStatus, description="Where a payment is in its life.")
strawberry.enum(AttemptOutcome, name="PaymentAttemptOutcome", description="What one provider call returned.")
strawberry.enum(RefundStatus)


@strawberry.enum(description="Who moves the money; chosen with the order.")
class PaymentProvider(enum.Enum):
    CARD = "card"
    WALLET = "wallet"


@strawberry.type(description="One call to the provider (a queue try of one payment attempt).")
class PaymentAttempt:
    number: int = strawberry.field(description="The payment attempt (1, then +1 per retryPayment).")
    try_: int = strawberry.field(name="try", description="The queue try within that attempt.")
    at: datetime
    outcome: AttemptOutcome
    error_code: str | None
    message: str | None
    latency_ms: int

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PaymentAttempt:
        return cls(number=record["number"], try_=record["try"], at=record["at"],
                   outcome=AttemptOutcome(record["outcome"]), error_code=record.get("error_code"),
                   message=record.get("message"), latency_ms=record.get("latency_ms", 0))


@strawberry.type(description="Why a payment failed, and whether the customer may retry it.")
class PaymentFailure:
    reason: str
    error_code: str
    final: bool = strawberry.field(description="True when retryPayment will refuse (hard decline, bad request).")


@strawberry.type
class Refund:
    id: strawberry.ID
    amount: Money
    status: RefundStatus
    reason: str | None
    provider_reference: str | None
    error_code: str | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_record(cls, record: dict[str, Any], currency: str) -> Refund:
        return cls(id=strawberry.ID(record["id"]), amount=Money(amount=record["amount"], currency=currency),
                   status=RefundStatus(record["status"]), reason=record.get("reason"),
                   provider_reference=record.get("provider_reference"), error_code=record.get("error_code"),
                   created_at=record["created_at"], completed_at=record.get("completed_at"))


@strawberry.input
class PaymentMethodInput:
    provider: PaymentProvider
    token: str = strawberry.field(description="A payment-method token (e.g. pm_card_visa, wallet_ok; see the test "
                                          "methods in the docs). Card numbers are refused (BAD_USER_INPUT).")


@strawberry.type(description="The circuit breaker of one provider (shared by all workers).")
class PaymentProviderHealth:
    provider: PaymentProvider
    circuit: str = strawberry.field(description="closed, open or half_open.")
    times_opened: int


@strawberry.type
class ReconciliationReport:
    examined: int
    settled_from_ledger: list[strawberry.ID]
    requeued: list[strawberry.ID]
    refunds_resumed: list[strawberry.ID]
    outcomes_resolved: list[strawberry.ID] = strawberry.field(
        description="Payments whose unknown attempt outcome was settled from the provider's books.")
    refunds_issued: list[strawberry.ID] = strawberry.field(
        description="Refunds made for money captured without a paid order (cancelled, wrong amount).")
