"""Root fields: payment, provider health; retryPayment, refundPayment, reconcilePayments."""

from __future__ import annotations

import re
from typing import Annotated

import strawberry

from subgraphs.kit.errors import BadUserInput
from subgraphs.kit.money import MinorUnits
from subgraphs.payments.context import PaymentsContext
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.schema.entities import Payment
from subgraphs.payments.schema.results import RefundPaymentResult, RetryPaymentResult, refund_result, retry_result
from subgraphs.payments.schema.types import (
    PaymentMethodInput,
    PaymentProvider,
    PaymentProviderHealth,
    ReconciliationReport,
)
from subgraphs.payments.service import ADMIN_SCOPE

Info = strawberry.Info[PaymentsContext, None]
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
MAX_REASON = 500


def _valid_id(value: strawberry.ID, field: str) -> str:
    text = str(value)
    if not ID_PATTERN.match(text):
        raise BadUserInput(f"{field} is not a valid id", field=field)
    return text


@strawberry.type
class Query:
    @strawberry.field(description="A payment by id (its customer, or payments/orders admins).")
    async def payment(self, info: Info, id: strawberry.ID) -> Payment | None:
        viewer = info.context.require_viewer()
        document = await info.context.payments.payment_for_viewer(viewer, _valid_id(id, "id"))
        return Payment.from_document(document) if document else None

    @strawberry.field(description="Circuit breaker state per provider (payments:admin).")
    async def payment_providers(self, info: Info) -> list[PaymentProviderHealth]:
        info.context.require_scope(ADMIN_SCOPE)
        core = info.context.payments.core
        return [
            PaymentProviderHealth(provider=PaymentProvider(name), circuit=(await breaker.state()).value,
                                  times_opened=await breaker.times_opened())
            for name, breaker in core.breakers.items()
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Queue a new attempt for the failed payment of an order still awaiting payment.")
    async def retry_payment(
        self, info: Info, order_id: strawberry.ID, payment_method: PaymentMethodInput | None = None
    ) -> RetryPaymentResult:
        viewer = info.context.require_viewer()
        method = None if payment_method is None else (payment_method.provider.value, payment_method.token)
        outcome = await info.context.payments.retry_payment(viewer, _valid_id(order_id, "orderId"), method)
        return retry_result(outcome)

    @strawberry.mutation(description="Refund all (amount null) or part of a captured payment (payments:admin).")
    async def refund_payment(
        self,
        info: Info,
        payment_id: strawberry.ID,
        amount: Annotated[MinorUnits | None, strawberry.argument(description="Minor units; null refunds the rest.")
                          ] = None,
        reason: str | None = None,
        idempotency_key: Annotated[
            str | None, strawberry.argument(description="Repeating a call with the same key returns the same refund.")
        ] = None,
    ) -> RefundPaymentResult:
        viewer = info.context.require_scope(ADMIN_SCOPE)
        if reason is not None and len(reason) > MAX_REASON:
            raise BadUserInput(f"reason must be at most {MAX_REASON} characters", field="reason")
        outcome = await info.context.payments.refund_payment(
            viewer, _valid_id(payment_id, "paymentId"), amount, reason, idempotency_key)
        return refund_result(outcome)

    @strawberry.mutation(description="Run one reconciliation pass now (payments:admin); it also runs periodically.")
    async def reconcile_payments(self, info: Info, stale_after_seconds: float | None = None) -> ReconciliationReport:
        info.context.require_scope(ADMIN_SCOPE)
        if stale_after_seconds is not None and stale_after_seconds < 0:
            raise BadUserInput("staleAfterSeconds must not be negative", field="staleAfterSeconds")
        report = await Reconciler(info.context.payments.core).run_once(stale_after_seconds)
        return ReconciliationReport(
            examined=report.examined,
            settled_from_ledger=[strawberry.ID(i) for i in report.settled_from_ledger],
            requeued=[strawberry.ID(i) for i in report.requeued],
            refunds_resumed=[strawberry.ID(i) for i in report.refunds_resumed],
            outcomes_resolved=[strawberry.ID(i) for i in report.outcomes_resolved],
            refunds_issued=[strawberry.ID(i) for i in report.refunds_issued],
        )
