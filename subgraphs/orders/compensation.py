"""Stock calls owed to products after a status change: release on cancel, commit on payment.

The owed call is recorded on the order (`stock.pending`) in the same update as the status change and
cleared only after products confirmed it, so it happens even when products is down at the time: the
worker's periodic `retry_stock_actions` job calls again. products' release/commit are idempotent per
order id, so a retry after a lost answer is harmless.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from subgraphs.kit.clock import as_utc, utcnow
from subgraphs.kit.errors import AppError
from subgraphs.orders.domain import StockAction
from subgraphs.orders.products_client import ProductsClient
from subgraphs.orders.store import OrderStore

log = logging.getLogger(__name__)

STATE_AFTER: dict[StockAction, str] = {StockAction.RELEASE: "released", StockAction.COMMIT: "committed"}

# A pending action younger than this is probably being done inline right now; the retry leaves it.
RETRY_GRACE = timedelta(seconds=10)


class StockCompensator:
    def __init__(self, store: OrderStore, products: ProductsClient) -> None:
        self.store = store
        self.products = products

    async def run(self, order_id: str, action: StockAction) -> bool:
        """Make the owed call; True once products confirmed it (the pending flag is then cleared)."""
        try:
            if action is StockAction.RELEASE:
                await self.products.release(order_id)
            else:
                await self.products.commit(order_id)
        except AppError as exc:
            log.warning("stock %s for order %s failed, will retry: %s", action.value, order_id, exc.message)
            await self.store.record_stock_failure(order_id, action, exc.message)
            return False
        await self.store.complete_stock_action(order_id, action, STATE_AFTER[action])
        log.info("stock %s done for order %s", action.value, order_id)
        return True

    async def retry_pending(self, grace: timedelta = RETRY_GRACE) -> int:
        """Retry every owed stock call older than the grace period; returns how many succeeded."""
        done = 0
        cutoff = utcnow() - grace
        for document in await self.store.pending_stock_actions():
            stock = document.get("stock") or {}
            requested_at = stock.get("requested_at")
            if requested_at is not None and as_utc(requested_at) > cutoff:
                continue
            if await self.run(document["_id"], StockAction(stock["pending"])):
                done += 1
        return done
