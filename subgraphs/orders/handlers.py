"""Payment events moving orders along (EventConsumer group "orders").

Idempotent twice over: the consumer skips event ids it handled, and a transition that already happened
is an illegal transition now, which is logged and acknowledged (never retried into a dead letter).
"""

from __future__ import annotations

import logging

from subgraphs.kit.events import Event
from subgraphs.kit.events.consumer import Handler
from subgraphs.kit.events.types import PaymentFailed, PaymentProcessed, PaymentRefunded
from subgraphs.orders.domain import OrderStatus
from subgraphs.orders.lifecycle import IllegalTransition, OrderLifecycle, TransitionOutcome
from subgraphs.orders.store import OrderStore

log = logging.getLogger(__name__)

CONSUMER_GROUP = "orders"


class PaymentEventHandlers:
    def __init__(self, store: OrderStore, lifecycle: OrderLifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle

    def handlers(self) -> dict[str, Handler]:
        return {
            PaymentProcessed.TYPE: self.on_payment_processed,
            PaymentFailed.TYPE: self.on_payment_failed,
            PaymentRefunded.TYPE: self.on_payment_refunded,
        }

    async def on_payment_processed(self, event: Event) -> None:
        payment = PaymentProcessed.from_event(event)
        order = await self.store.get(payment.order_id)
        if order is None:
            log.error("payment %s processed for unknown order %s", payment.payment_id, payment.order_id)
            return
        if (payment.amount, payment.currency) != (order["total"], order["currency"]):
            log.error("payment %s of %d %s does not match order %s total %d %s; order left as is",
                      payment.payment_id, payment.amount, payment.currency, payment.order_id,
                      order["total"], order["currency"])
            return
        outcome = await self.lifecycle.transition(
            payment.order_id, OrderStatus.PAID, f"payment {payment.payment_id} processed",
            details={"payment_id": payment.payment_id},
        )
        if isinstance(outcome, IllegalTransition) and outcome.current is OrderStatus.CANCELLED:
            # payments sees the cancellation too and refunds the capture in full (docs/payments.md).
            log.warning("payment %s captured for cancelled order %s: payments refunds it",
                        payment.payment_id, payment.order_id)
        else:
            self._log_outcome(event, outcome)

    async def on_payment_failed(self, event: Event) -> None:
        failure = PaymentFailed.from_event(event)
        if not failure.final:
            log.info("payment %s of order %s failed transiently (%s); waiting for the retry",
                     failure.payment_id, failure.order_id, failure.error_code)
            return
        outcome = await self.lifecycle.transition(
            failure.order_id, OrderStatus.CANCELLED, f"payment failed: {failure.reason}",
        )
        self._log_outcome(event, outcome)

    async def on_payment_refunded(self, event: Event) -> None:
        refund = PaymentRefunded.from_event(event)
        if not refund.fully_refunded:
            log.info("order %s partly refunded (%d %s); status unchanged", refund.order_id, refund.amount,
                     refund.currency)
            return
        outcome = await self.lifecycle.transition(
            refund.order_id, OrderStatus.REFUNDED, f"refund {refund.refund_id}",
            details={"refund_id": refund.refund_id},
        )
        self._log_outcome(event, outcome)

    @staticmethod
    def _log_outcome(event: Event, outcome: TransitionOutcome | None) -> None:
        if outcome is None:
            log.error("%s %s names an unknown order (%s)", event.type, event.id, event.subject)
        elif isinstance(outcome, IllegalTransition):
            log.warning("%s %s ignored: order %s is %s, cannot become %s", event.type, event.id,
                        outcome.order["_id"], outcome.current.value, outcome.target.value)
