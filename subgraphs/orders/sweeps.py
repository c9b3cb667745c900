"""Periodic repairs for steps a crashed process may have skipped (run by the worker's cron jobs)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from subgraphs.kit.clock import utcnow
from subgraphs.kit.errors import AppError
from subgraphs.kit.tracing import context_of, running_job
from subgraphs.orders.domain import OrderStatus
from subgraphs.orders.lifecycle import OrderLifecycle, Transitioned
from subgraphs.orders.products_client import ProductsClient
from subgraphs.orders.queue import EXPIRE_ORDER_JOB
from subgraphs.orders.store import OrderStore

log = logging.getLogger(__name__)

HOLD_EXPIRED_REASON = "stock hold expired before payment"


class Sweeps:
    def __init__(self, store: OrderStore, lifecycle: OrderLifecycle, products: ProductsClient,
                 stale_checkout_after: timedelta) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.products = products
        self.stale_checkout_after = stale_checkout_after

    async def expire_order(self, order_id: str) -> bool:
        """Cancel an order still unpaid when its hold ended; True when it was cancelled now."""
        outcome = await self.lifecycle.transition(
            order_id, OrderStatus.CANCELLED, HOLD_EXPIRED_REASON, only_if_hold_expired=True
        )
        return isinstance(outcome, Transitioned)

    async def expire_due_holds(self) -> int:
        """Expire unpaid orders whose expiry job was never scheduled (a crash right after the insert).

        Each expiry is traced as the job would have been, in the trace of the request that placed the order."""
        expired = 0
        for order_id in await self.store.expired_holds(utcnow()):
            with running_job(EXPIRE_ORDER_JOB, await context_of(self.store.orders, order_id)):
                if await self.expire_order(order_id):
                    expired += 1
        return expired

    async def release_stale_checkouts(self) -> int:
        """Release the stock of checkout attempts that never became an order; returns how many.

        Each attempt is claimed first, then the order is looked for, then products is asked to release
        for the claimed attempt number. A retry that comes meanwhile takes the attempt over with a higher
        number, so products keeps the units for it; a checkout that inserted its order meanwhile sees
        the claim and holds its units again (see checkout.py)."""
        released = 0
        claim = uuid.uuid4().hex
        cutoff = utcnow() - self.stale_checkout_after
        for order_id in await self.store.stale_checkouts(cutoff):
            attempt = await self.store.claim_checkout(order_id, cutoff, claim)
            if attempt is None:
                continue  # a retry touched it, or another sweep has it
            if await self.store.get(order_id) is None:
                try:
                    done = await self.products.release(order_id, attempt=attempt.number)
                except AppError as exc:
                    log.warning("could not release stale checkout %s yet: %s", order_id, exc.message)
                    continue  # the claim lapses; a later sweep tries again
                if done:
                    released += 1
                    log.info("released the stock of abandoned checkout %s (attempt %d)", order_id, attempt.number)
                else:
                    log.info("stale checkout %s: a later attempt holds its stock", order_id)
            await self.store.end_claimed_checkout(order_id, claim)
        return released
