"""How long carts and finished stock reservations are kept: TTL indexes, declared once.

A cart (`carts`) is removed when it has not changed for `PRODUCTS_CART_RETENTION_DAYS` (TTL on its
`updated_at`, which every cart write sets; viewing a cart does not). A reservation (`reservations`)
is removed `PRODUCTS_RESERVATION_RETENTION_DAYS` after its last change only once it is final: the TTL
index is partial on `state` released or committed, so a pending or reserved reservation, whose
units are held, is never in it and never expires. Until then a repeated reserve, release or commit
for the order still finds its outcome; the orders saga retries for minutes, not days.

MongoDB's TTL monitor deletes once a minute (so a document may outlive its date by a minute or
more); mongoeco deletes expired documents when the collection is next used.
"""

from __future__ import annotations

from subgraphs.kit.indexes import IndexSpec, ensure_indexes, ttl
from subgraphs.kit.mongo import Database
from subgraphs.products.carts import CARTS
from subgraphs.products.config import ProductsConfig
from subgraphs.products.inventory import RESERVATIONS, ReservationState

DAY = 86400
FINAL_STATES = (ReservationState.RELEASED.value, ReservationState.COMMITTED.value)


def cart_indexes(config: ProductsConfig) -> list[IndexSpec]:
    return [ttl("updated_at", round(config.cart_retention_days * DAY), "abandoned_carts")]


def reservation_indexes(config: ProductsConfig) -> list[IndexSpec]:
    return [ttl("updated_at", round(config.reservation_retention_days * DAY), "finished_reservations",
                partial={"state": {"$in": list(FINAL_STATES)}})]


async def ensure_retention(db: Database, config: ProductsConfig) -> None:
    await ensure_indexes(db[CARTS], cart_indexes(config))
    await ensure_indexes(db[RESERVATIONS], reservation_indexes(config))
