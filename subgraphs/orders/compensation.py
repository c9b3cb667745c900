"""Stock calls owed to products after a status change: release on cancel, commit on payment.

The owed call is recorded on the order (`stock.pending`) in the same update as the status change and
cleared only after products confirmed it, so it happens even when products is down at the time: the
worker's periodic `retry_stock_actions` job calls again. products' release/commit are idempotent per
order id, so a retry after a lost answer is harmless.

A commit is done only when products says so. When it answers that it holds nothing for the order (the
units were released under it), they are held again and committed; when they are gone, the answer is
`UNAVAILABLE` and the lifecycle cancels the paid order (payments refunds it).
"""

from __future__ import annotations

import enum
import logging
from datetime import timedelta

from subgraphs.kit.errors import AppError
from subgraphs.orders.domain import StockAction
from subgraphs.orders.products_client import ProductsClient, Reservation
from subgraphs.orders.stock_hold import StockHolder
from subgraphs.orders.store import OrderStore

log = logging.getLogger(__name__)

STATE_AFTER: dict[StockAction, str] = {StockAction.RELEASE: "released", StockAction.COMMIT: "committed"}

# A pending action younger than this is probably being done inline right now; the retry leaves it.
RETRY_GRACE = timedelta(seconds=10)


class StockResult(enum.Enum):
    DONE = "done"  # products confirmed it; the pending flag is cleared
    RETRY = "retry"  # products could not be asked; the worker calls again
    UNAVAILABLE = "unavailable"  # a commit with no units to commit: products holds none and has none


class StockCompensator:
    def __init__(self, store: OrderStore, products: ProductsClient, holder: StockHolder) -> None:
        self.store = store
        self.products = products
        self.holder = holder

    async def run(self, order_id: str, action: StockAction) -> StockResult:
        """Make the owed call; on DONE the pending flag is cleared."""
        try:
            if action is StockAction.RELEASE:
                await self.products.release(order_id)  # for good: nothing is held for the order after it
            elif not await self.products.commit(order_id) and not await self._hold_again_and_commit(order_id):
                return StockResult.UNAVAILABLE
        except AppError as exc:
            log.warning("stock %s for order %s failed, will retry: %s", action.value, order_id, exc.message)
            await self.store.record_stock_failure(order_id, action, exc.message)
            return StockResult.RETRY
        await self.store.complete_stock_action(order_id, action, STATE_AFTER[action])
        log.info("stock %s done for order %s", action.value, order_id)
        return StockResult.DONE

    async def _hold_again_and_commit(self, order_id: str) -> bool:
        order = await self.store.get(order_id)
        if order is None:
            return False
        log.error("products holds no stock for paid order %s: holding its units again", order_id)
        outcome = await self.holder.hold_again(order)
        if not isinstance(outcome, Reservation):
            log.error("the units of paid order %s are gone (%s): it cannot be fulfilled", order_id, outcome)
            return False
        return await self.products.commit(order_id)
