"""Mutations: placeOrder (the checkout saga), cancelOrder (customer or admin), fulfillOrder (admin)."""

from __future__ import annotations

import strawberry

from subgraphs.kit.errors import Forbidden
from subgraphs.orders.checkout import EmptyOrder as EmptyOutcome
from subgraphs.orders.checkout import KeyReused, Placed
from subgraphs.orders.domain import OrderStatus
from subgraphs.orders.lifecycle import IllegalTransition, NotDue, Transitioned, TransitionOutcome
from subgraphs.orders.products_client import NoSuchVariant, OutOfStock
from subgraphs.orders.schema.context import ADMIN_SCOPE, Info
from subgraphs.orders.schema.inputs import PlaceOrderInput, checkout_request
from subgraphs.orders.schema.query import load_order
from subgraphs.orders.schema.results import (
    EmptyOrder,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidStatusTransition,
    OrderPlaced,
    OrderTransitioned,
    OrderTransitionResult,
    PlaceOrderResult,
    UnknownVariant,
)
from subgraphs.orders.schema.types import Order

MAX_REASON_LENGTH = 500


def transition_result(outcome: TransitionOutcome | None, target: OrderStatus) -> OrderTransitionResult:
    if isinstance(outcome, Transitioned):
        return OrderTransitioned(order=Order.from_document(outcome.order))
    if isinstance(outcome, IllegalTransition | NotDue):
        current = OrderStatus(outcome.order["status"])
        return InvalidStatusTransition(
            from_=current, to=target, order=Order.from_document(outcome.order),
            message=f"an order that is {current.value} cannot become {target.value}",
        )
    raise RuntimeError("the order disappeared during its transition")


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Place an order from explicit lines or the cart. Retrying with the same "
                                     "idempotencyKey and input answers the same order.")
    async def place_order(self, info: Info, input: PlaceOrderInput, idempotency_key: str) -> PlaceOrderResult:
        viewer = info.context.require_viewer()
        if viewer.is_service:
            raise Forbidden("orders are placed by customers, not by services")
        request = checkout_request(input, idempotency_key)
        outcome = await info.context.orders.checkout.place(viewer, request)
        if isinstance(outcome, Placed):
            return OrderPlaced(order=Order.from_document(outcome.order), replayed=outcome.replayed)
        if isinstance(outcome, OutOfStock):
            return InsufficientStock(sku=outcome.sku, requested=outcome.requested, available=outcome.available)
        if isinstance(outcome, NoSuchVariant):
            return UnknownVariant(sku=outcome.sku)
        if isinstance(outcome, EmptyOutcome):
            return EmptyOrder()
        if isinstance(outcome, KeyReused):
            return IdempotencyKeyReused(idempotency_key=outcome.idempotency_key)
        raise RuntimeError(f"unexpected checkout outcome {outcome!r}")

    @strawberry.mutation(description="Cancel an order awaiting payment (its customer, or orders:admin); "
                                     "its stock is released.")
    async def cancel_order(self, info: Info, id: strawberry.ID, reason: str | None = None) -> OrderTransitionResult:
        order = await load_order(info, str(id))
        viewer = info.context.require_viewer()
        if viewer.user_id != order["user_id"] and not info.context.is_admin(viewer):
            raise Forbidden("only the customer or an orders admin may cancel this order")
        reason = (reason or "").strip()[:MAX_REASON_LENGTH]
        who = "the customer" if viewer.user_id == order["user_id"] else "an orders admin"
        text = f"cancelled by {who}" + (f": {reason}" if reason else "")
        outcome = await info.context.orders.lifecycle.transition(str(id), OrderStatus.CANCELLED, text)
        return transition_result(outcome, OrderStatus.CANCELLED)

    @strawberry.mutation(description="Mark a paid order as fulfilled (scope orders:admin).")
    async def fulfill_order(self, info: Info, id: strawberry.ID) -> OrderTransitionResult:
        info.context.require_scope(ADMIN_SCOPE)
        await load_order(info, str(id))
        outcome = await info.context.orders.lifecycle.transition(str(id), OrderStatus.FULFILLED, "fulfilled")
        return transition_result(outcome, OrderStatus.FULFILLED)
