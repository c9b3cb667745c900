"""Holding an order's units in products for a checkout attempt, and again when they were lost.

products answers a released reservation as `NotHeld` with the highest attempt it has seen; a live call
is a newer attempt than any products knows of, so it takes its checkout attempt over above that number
and asks again (products then holds the units afresh, if they are there). A late call of an attempt that
was swept never gets the units back: only the caller that raises the attempt does.
"""

from __future__ import annotations

import logging

from subgraphs.kit.errors import ServiceUnavailable
from subgraphs.orders.domain import RequestedLine
from subgraphs.orders.products_client import NotHeld, ProductsClient, ReservationOutcome
from subgraphs.orders.store import Document, OrderStore

log = logging.getLogger(__name__)

MAX_RESERVE_TRIES = 4


class StockHolder:
    def __init__(self, store: OrderStore, products: ProductsClient) -> None:
        self.store = store
        self.products = products

    async def hold(self, order_id: str, user_id: str, fingerprint: str, lines: list[RequestedLine], attempt: int
                   ) -> tuple[ReservationOutcome, int]:
        """Reserve for checkout attempt `attempt`; returns products' answer and the attempt it answered.
        A `NotHeld` that is still resumable means another request's attempt holds the key now."""
        for _ in range(MAX_RESERVE_TRIES):
            outcome = await self.products.reserve(order_id, lines, attempt)
            if not (isinstance(outcome, NotHeld) and outcome.resumable):
                return outcome, attempt
            raised = await self.store.raise_attempt(order_id, user_id, fingerprint, outcome.attempt)
            if raised is None:
                return outcome, attempt
            log.info("reservation of %s was released at attempt %d: holding afresh as attempt %d",
                     order_id, outcome.attempt, raised)
            attempt = raised
        raise ServiceUnavailable("products keeps answering a released reservation", service="products")

    async def hold_again(self, order: Document) -> ReservationOutcome:
        """Hold the units of an existing order again, as a new checkout attempt of its request (so above
        every attempt a stale-checkout sweep may be releasing)."""
        order_id, user_id = order["_id"], order["user_id"]
        fingerprint = order["idempotency"]["fingerprint"]
        lines = [RequestedLine(sku=line["sku"], quantity=line["quantity"]) for line in order["lines"]]
        attempt = await self.store.begin_checkout(order_id, user_id, fingerprint)
        try:
            outcome, _ = await self.hold(order_id, user_id, fingerprint, lines, attempt.number)
        finally:
            await self.store.end_checkout(order_id)  # the order exists: the attempt has no more to do
        return outcome
