"""The use cases of payments: react to order events, retry a failed payment, refund one.

Results of the client-facing operations are small tagged outcomes; the GraphQL layer maps them to
typed payloads (domain refusals are results, not errors).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from subgraphs.kit.auth import Viewer
from subgraphs.kit.cards import looks_like_card_number, refuse_card_number
from subgraphs.kit.errors import BadUserInput, Forbidden, NotFound
from subgraphs.kit.events import Event
from subgraphs.kit.events.types import OrderCancelled, OrderCreated, OrderPaid
from subgraphs.kit.money import check_amount, in_range
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.documents import new_payment
from subgraphs.payments.domain import (
    OPEN_STATUSES,
    REFUNDABLE_STATUSES,
    SYSTEM_KEY_PREFIX,
    OrderState,
    PaymentStatus,
    implied_refund_key,
    job_id_for,
    payment_id_for,
    refund_id_for,
)
from subgraphs.payments.outcomes import ChargeOutcomes
from subgraphs.payments.refunds import RefundExecutor, RefundOutcome, find_refund, new_refund
from subgraphs.payments.settlement import UNKNOWN, AttemptSettlement

log = logging.getLogger(__name__)

Document = dict[str, Any]
ADMIN_SCOPE = "payments:admin"
# Order admins see an order's payments too (read-only).
READ_SCOPES = (ADMIN_SCOPE, "orders:admin")
SYSTEM = Viewer(user_id="service:payments", scopes=frozenset({ADMIN_SCOPE}), token="")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_TOKEN = 200
MAX_IDEMPOTENCY_KEY = 200


def can_read(viewer: Viewer, payment: Document) -> bool:
    return viewer.user_id == payment["user_id"] or viewer.is_service or any(viewer.has_scope(s) for s in READ_SCOPES)


@dataclass(frozen=True)
class RetryScheduled:
    payment: Document


@dataclass(frozen=True)
class RetryRefused:
    payment: Document
    reason: str  # NOT_FAILED | FINAL_FAILURE | ORDER_CLOSED | OUTCOME_UNKNOWN
    message: str


@dataclass(frozen=True)
class RefundRefused:
    payment: Document
    reason: str  # NOT_CAPTURED | FULLY_REFUNDED | EXCEEDS_REFUNDABLE
    requested: int
    refundable: int
    message: str


def _now() -> datetime:
    return datetime.now(UTC)


class PaymentService:
    def __init__(self, core: PaymentsCore) -> None:
        self.core = core
        self.refunds = RefundExecutor(core)
        self.outcomes = ChargeOutcomes(core)
        self.settlement = AttemptSettlement(core, self.outcomes)

    # --- events ------------------------------------------------------------------------------

    async def on_order_created(self, event: Event) -> None:
        """One payment per order and one job per attempt, however often the event arrives.

        Write, then read: the payment is inserted, then `closed_orders` is read again. A cancel
        handled at the same moment (maybe by another instance) writes `closed_orders`, then marks the
        payment: if its write to the payment found none, this read sees the cancel.
        """
        order = OrderCreated.from_event(event)
        document = new_payment(order, _now())
        problem = self._invalid_order(order)
        state = await self.core.store.order_state(order.order_id)
        if state is not OrderState.OPEN:  # order.cancelled/paid overtook order.created
            document["order_state"] = state.value
        payment, _ = await self.core.store.insert(document)
        if payment["order_state"] == OrderState.OPEN.value:
            state = await self.core.store.order_state(order.order_id)
            if state is not OrderState.OPEN:
                payment = await self.core.store.set_order_state(order.order_id, state, _now()) or payment
                await self.outcomes.after_order_closed(payment)
        error_code = "invalid_request"
        if problem is None and payment["order_state"] != OrderState.OPEN.value:
            problem, error_code = f"the order is already {payment['order_state']}", "order_closed"
        if problem is not None:
            if payment["status"] == PaymentStatus.PENDING.value:  # only a payment no job has started
                await self.outcomes.fail(payment, payment["attempt"], None, reason=problem, error_code=error_code,
                                         final=True, statuses=(PaymentStatus.PENDING.value,))
            log.warning("order %s cannot be paid: %s", order.order_id, problem)
            return
        if payment["status"] in OPEN_STATUSES:
            # Also after a redelivery: a handler that died between insert and enqueue left no job.
            queued = await self.core.enqueue(payment)
            log.info("payment %s for order %s %s", payment["_id"], order.order_id,
                     "queued" if queued else "was already queued")

    def _invalid_order(self, order: OrderCreated) -> str | None:
        if order.payment_provider not in self.core.providers:
            return f"unknown payment provider {order.payment_provider!r}"
        if not isinstance(order.total_amount, int) or order.total_amount <= 0 or not in_range(order.total_amount):
            return "the order total must be a positive amount in minor units within the MinorUnits range"
        if not CURRENCY.match(order.currency.upper()):
            return f"invalid currency {order.currency!r}"
        if not order.payment_token:
            return "no payment token"
        if looks_like_card_number(order.payment_token):
            return "a card number was sent instead of a payment-method token (it was not stored)"
        return None

    async def on_order_paid(self, event: Event) -> None:
        await self.core.store.set_order_state(OrderPaid.from_event(event).order_id, OrderState.PAID, _now())

    async def on_order_cancelled(self, event: Event) -> None:
        """Write, then read: the order state is written on the payment, then the payment it returns
        is checked; a capture already recorded is refunded in full. A capture recorded later sees
        the state itself (outcomes.after_capture), so one of the two always refunds."""
        order_id = OrderCancelled.from_event(event).order_id
        payment = await self.core.store.set_order_state(order_id, OrderState.CANCELLED, _now())
        await self.outcomes.after_order_closed(payment)

    # --- reads -------------------------------------------------------------------------------

    async def payment_for_viewer(self, viewer: Viewer, payment_id: str) -> Document | None:
        payment = await self.core.store.get(payment_id)
        if payment is None:
            return None
        if not can_read(viewer, payment):
            raise Forbidden("this payment belongs to another customer")
        return payment

    # --- retry -------------------------------------------------------------------------------

    async def retry_payment(
        self, viewer: Viewer, order_id: str, method: tuple[str, str] | None
    ) -> RetryScheduled | RetryRefused:
        """FAILED -> PENDING with a new attempt; concurrent calls create exactly one new attempt.

        The previous attempt's key is settled at the provider first: a charge found under it is the
        payment's outcome (no new attempt), and "no charge" voids it, so the new key cannot double charge.
        """
        payment = await self.core.store.get(payment_id_for(order_id))
        if payment is None:
            raise NotFound(f"no payment for order {order_id}", orderId=order_id)
        if payment["user_id"] != viewer.user_id and not viewer.has_scope(ADMIN_SCOPE):
            raise Forbidden("only the customer who placed the order can retry its payment")
        change = None if method is None else self._method_change(*method)
        payment, unknown = await self._settle_previous_attempt(payment)
        if unknown:
            return RetryRefused(payment, "OUTCOME_UNKNOWN", "the provider has not said yet whether the previous "
                                "attempt charged; try again shortly")
        attempt = payment["attempt"]
        reopened = await self.core.store.reopen_for_retry(
            payment["_id"], attempt,
            method={**(change or {}), "job_id": job_id_for(payment["_id"], attempt + 1)}, now=_now(),
        )
        if reopened is not None:
            try:
                await self.core.enqueue(reopened)
            except RedisError as exc:
                # The new attempt is recorded: reconciliation queues an open payment that has no job
                # (`Reconciler._repair`), so the retry is scheduled, only later than usual.
                log.warning("payment %s attempt %d reopened but not queued (%s); reconciliation queues it",
                            reopened["_id"], reopened["attempt"], exc)
            return RetryScheduled(reopened)
        current = await self.core.store.get(payment["_id"]) or payment
        if current["status"] in OPEN_STATUSES and current["attempt"] > 1 and not current.get("outcome_unknown"):
            return RetryScheduled(current)  # a retry (maybe a concurrent call's) is already scheduled
        return self._retry_refusal(current)

    def _method_change(self, provider: str, token: str) -> dict[str, str]:
        if provider not in self.core.providers:
            raise BadUserInput(f"unknown payment provider {provider!r}", field="paymentMethod.provider")
        token = token.strip()
        if not token or len(token) > MAX_TOKEN:
            raise BadUserInput(f"the payment token must be 1-{MAX_TOKEN} characters", field="paymentMethod.token")
        refuse_card_number(token, field="paymentMethod.token")
        return {"provider": provider, "payment_token": token}

    async def _settle_previous_attempt(self, payment: Document) -> tuple[Document, bool]:
        """(the payment after settling its current attempt, whether its outcome is still unknown)."""
        status, failure = payment["status"], payment.get("failure") or {}
        if payment["provider"] not in self.core.providers:
            return payment, False
        if status in OPEN_STATUSES and payment.get("outcome_unknown"):
            statuses: tuple[str, ...] = OPEN_STATUSES
            failure_if_none = {"reason": "the provider never answered and has no charge for the attempt",
                               "error_code": payment["outcome_unknown"]["error_code"], "final": False}
        elif status == PaymentStatus.FAILED.value and failure.get("final") is False:
            # Also payments failed before outcomes were settled: a charge found now is recorded.
            statuses, failure_if_none = (PaymentStatus.FAILED.value,), dict(failure)
        else:
            return payment, False
        outcome = await self.settlement.settle(payment, payment["attempt"], failure_if_none=failure_if_none,
                                               statuses=statuses)
        return await self.core.store.get(payment["_id"]) or payment, outcome == UNKNOWN

    @staticmethod
    def _retry_refusal(payment: Document) -> RetryRefused:
        if payment["status"] in OPEN_STATUSES and payment.get("outcome_unknown"):
            return RetryRefused(payment, "OUTCOME_UNKNOWN", "the outcome of the previous attempt is not known yet")
        if payment["status"] != PaymentStatus.FAILED.value:
            return RetryRefused(payment, "NOT_FAILED", f"the payment is {payment['status']}, not FAILED")
        if payment["order_state"] != OrderState.OPEN.value:
            return RetryRefused(payment, "ORDER_CLOSED", f"the order is {payment['order_state']}")
        return RetryRefused(payment, "FINAL_FAILURE",
                            f"the payment failed for good ({(payment.get('failure') or {}).get('error_code')})")

    # --- refunds -----------------------------------------------------------------------------

    async def refund_payment(
        self, viewer: Viewer, payment_id: str, amount: int | None, reason: str | None, idempotency_key: str | None
    ) -> RefundOutcome | RefundRefused:
        """Without an idempotency key, the request's meaning is its key (domain.implied_refund_key):
        a retried refund is the same refund, never a second payment."""
        if amount is not None and amount <= 0:
            raise BadUserInput("the refund amount must be a positive number of minor units", field="amount")
        if amount is not None:
            check_amount(amount, "a refund", field="amount")
        if idempotency_key is not None:
            if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY or not idempotency_key.isprintable():
                raise BadUserInput(f"idempotencyKey must be 1-{MAX_IDEMPOTENCY_KEY} printable characters",
                                   field="idempotencyKey")
            if idempotency_key.startswith(SYSTEM_KEY_PREFIX):
                raise BadUserInput(f"idempotencyKey may not start with {SYSTEM_KEY_PREFIX!r} (payments' own refunds)",
                                   field="idempotencyKey")
        payment = await self.core.store.get(payment_id)
        if payment is None:
            raise NotFound(f"payment {payment_id} not found", paymentId=payment_id)
        refund_id = refund_id_for(payment_id, idempotency_key or implied_refund_key(amount, reason))
        existing = find_refund(payment, refund_id)
        if existing is not None:  # the same request again
            return await self.refunds.resume(payment, existing)
        requested = payment.get("refundable_amount", 0) if amount is None else amount
        refusal = self._refund_refusal(payment, requested)
        if refusal is not None:
            return refusal
        refund = new_refund(refund_id, requested, payment["attempt"], viewer.user_id, reason)
        held = await self.core.store.reserve_refund(payment_id, refund, _now())
        if held is None:  # lost a race with another refund, or the same key concurrently
            current = await self.core.store.get(payment_id) or payment
            again = find_refund(current, refund_id)
            if again is not None:
                return await self.refunds.resume(current, again)
            return self._refund_refusal(current, requested) or RefundRefused(
                current, "EXCEEDS_REFUNDABLE", requested, current.get("refundable_amount", 0),
                "the refundable amount changed meanwhile")
        return await self.refunds.execute(held, refund)

    @staticmethod
    def _refund_refusal(payment: Document, requested: int) -> RefundRefused | None:
        refundable = int(payment.get("refundable_amount") or 0)
        if payment["status"] not in REFUNDABLE_STATUSES:
            reason = "FULLY_REFUNDED" if payment["status"] == PaymentStatus.REFUNDED.value else "NOT_CAPTURED"
            return RefundRefused(payment, reason, requested, refundable,
                                 f"a {payment['status']} payment cannot be refunded")
        if requested > refundable:
            return RefundRefused(payment, "EXCEEDS_REFUNDABLE", requested, refundable,
                                 f"at most {refundable} can be refunded")
        if requested <= 0:
            return RefundRefused(payment, "FULLY_REFUNDED", requested, refundable, "nothing left to refund")
        return None
