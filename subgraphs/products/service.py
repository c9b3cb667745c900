"""The products service's domain objects, built once per process after MongoDB and Redis connect."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from subgraphs.kit.gateway_cache import GatewayCacheFeed
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.products.cache import CatalogCache
from subgraphs.products.cache_policy import gateway_invalidations
from subgraphs.products.cache_repair import COLLECTION as CACHE_REPAIRS
from subgraphs.products.cache_repair import PendingInvalidations, RepairLoop
from subgraphs.products.carts import Carts
from subgraphs.products.catalog import Catalog
from subgraphs.products.config import ProductsConfig
from subgraphs.products.demo import seed
from subgraphs.products.inventory import Inventory
from subgraphs.products.retention import ensure_retention
from subgraphs.products.store import CatalogStore

log = logging.getLogger(__name__)


class ProductsService:
    def __init__(self, runtime: ServiceRuntime, config: ProductsConfig) -> None:
        self.runtime = runtime
        self.config = config
        self._catalog: Catalog | None = None
        self._carts: Carts | None = None
        self._inventory: Inventory | None = None
        self._repair: RepairLoop | None = None
        self._gateway_feed: GatewayCacheFeed | None = None

    async def start(self) -> None:
        db = self.runtime.db
        store = CatalogStore(db)
        url, token = self.config.gateway_invalidation_url, self.config.gateway_invalidation_token
        if url and token:  # writes reach the gateway's cache through the event stream (kit.gateway_cache)
            self._gateway_feed = GatewayCacheFeed(self.runtime.redis, db, "products", url, token)
            await self._gateway_feed.start()  # its group exists before the first write below
            self.runtime.watch(self._gateway_feed.consumer.health)
        cache = CatalogCache(self.runtime.redis if self.config.cache_enabled else None, self.config.cache_ttl_seconds,
                             PendingInvalidations(db[CACHE_REPAIRS]), on_invalidate=self._tell_gateway)
        if not self.config.cache_enabled:
            log.warning("PRODUCTS_CACHE is off: every catalog read goes to MongoDB")
        self._catalog = Catalog(store, cache)
        if cache.enabled:  # failed invalidations, any instance's, reach every instance through this loop
            self._repair = RepairLoop(cache.repair, self.config.cache_repair_seconds)
        self._carts = Carts(db, self._catalog)
        self._inventory = Inventory(db, self._catalog, store, cache)
        await store.ensure_indexes()
        await self._inventory.ensure_indexes()
        await ensure_retention(db, self.config)
        backfilled = await store.backfill_search()
        if backfilled:
            log.info("search fields derived for %d products written before them", backfilled)
            await cache.invalidate([])  # listings cached before the backfill missed those products
        seed_demo = self.runtime.settings.embedded_mongo if self.config.seed_demo is None else self.config.seed_demo
        if seed_demo and not await store.count({}):
            log.info("the catalog is empty: seeding the demo catalog")
            await seed(store)
        if self._repair is not None:
            self.runtime.watch(self._repair.health)
            await self._repair.start()

    async def _tell_gateway(self, product_ids: Sequence[str], stock: bool) -> None:
        if self._gateway_feed is None:
            return
        # no ids: the whole catalog changed (listings); the subgraph's cached root queries and entities
        await self._gateway_feed.publish(gateway_invalidations(product_ids, stock=stock) or [{"kind": "subgraph"}])

    async def stop(self) -> None:
        if self._gateway_feed is not None:
            self.runtime.unwatch(self._gateway_feed.consumer.health)
            await self._gateway_feed.stop()
            self._gateway_feed = None
        if self._repair is not None:
            await self._repair.stop()
            self.runtime.unwatch(self._repair.health)
            self._repair = None

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("the products service is not started")
        return self._catalog

    @property
    def carts(self) -> Carts:
        if self._carts is None:
            raise RuntimeError("the products service is not started")
        return self._carts

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            raise RuntimeError("the products service is not started")
        return self._inventory
