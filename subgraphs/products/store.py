"""MongoDB access for the catalog: one document per product with its variants, their stock and holds.

Variant stock lives inside the product document (`variants.N.stock.{on_hand,reserved,available}`) so
every stock change is a single-document atomic update. `holds` maps an order id to the units held for
it (the key is the order id, with `~<n>` added for the n-th fresh hold of a released reservation; see
`inventory.hold_key`): a hold is placed only if absent and removed only if present, which makes reserve,
release and commit of one line idempotent per order. Updates address a variant by its array index and
re-check its SKU in the filter (positional `$` with `$elemMatch` on nested fields is not supported by mongomock).
Whole-document rewrites are guarded by a `rev` counter that every write increments.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.kit.mongo import Database, aggregate

PRODUCTS = "products"
# `holds` is internal bookkeeping: never loaded for reads, never cached.
PUBLIC_PROJECTION = {"variants.holds": 0}
MAX_ATTEMPTS = 20


class HoldOutcome(enum.Enum):
    HELD = "held"  # placed now, or already in place for this order
    INSUFFICIENT = "insufficient"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class HoldResult:
    outcome: HoldOutcome
    product_id: str | None = None
    available: int = 0


class CatalogStore:
    def __init__(self, db: Database) -> None:
        self.products: Any = db[PRODUCTS]

    async def ensure_indexes(self) -> None:
        p = self.products
        if _is_mongomock(p):
            # mongomock cannot index array fields (it sees every key as null): there the pre-check in
            # `skus_taken` alone keeps SKUs unique; on MongoDB this index also catches racing writes.
            await p.create_index("variants.sku", name="variant_sku")
        else:
            await p.create_index("variants.sku", unique=True, name="variant_sku_unique")
        await p.create_index("slug", unique=True, name="slug_unique")
        await p.create_index([("status", ASCENDING), ("created_at", DESCENDING), ("_id", ASCENDING)], name="newest")
        await p.create_index([("status", ASCENDING), ("price_min", ASCENDING), ("_id", ASCENDING)], name="price")
        await p.create_index([("status", ASCENDING), ("name_sort", ASCENDING), ("_id", ASCENDING)], name="name")
        await p.create_index([("category_slug", ASCENDING), ("status", ASCENDING)], name="category")

    # ---- reads -------------------------------------------------------------------------------------

    async def find_by_ids(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        cursor = self.products.find({"_id": {"$in": list(ids)}}, PUBLIC_PROJECTION)
        return {doc["_id"]: doc async for doc in cursor}

    async def find_page(self, query: dict[str, Any], sort: list[tuple[str, int]], limit: int) -> list[dict[str, Any]]:
        cursor = self.products.find(query, PUBLIC_PROJECTION).sort(sort).limit(limit)
        return [doc async for doc in cursor]

    async def count(self, query: dict[str, Any]) -> int:
        return int(await self.products.count_documents(query))

    async def find_by_skus(self, skus: Sequence[str]) -> list[dict[str, Any]]:
        cursor = self.products.find({"variants.sku": {"$in": list(skus)}}, PUBLIC_PROJECTION)
        return [doc async for doc in cursor]

    async def find_by_slug(self, slug: str) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.products.find_one({"slug": slug}, PUBLIC_PROJECTION)
        return doc

    async def categories(self) -> list[dict[str, Any]]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": "ACTIVE"}},
            {"$group": {"_id": "$category_slug", "name": {"$first": "$category"}, "count": {"$sum": 1}}},
            {"$sort": {"_id": 1}},
        ]
        return await aggregate(self.products, pipeline)

    async def skus_taken(self, skus: Sequence[str], except_product: str | None = None) -> set[str]:
        """SKUs among `skus` used by another product (the unique index backs this up on real MongoDB)."""
        query: dict[str, Any] = {"variants.sku": {"$in": list(skus)}}
        if except_product is not None:
            query["_id"] = {"$ne": except_product}
        taken: set[str] = set()
        async for doc in self.products.find(query, {"variants.sku": 1}):
            taken.update(v["sku"] for v in doc["variants"] if v["sku"] in skus)
        return taken

    async def slug_taken(self, slug: str, except_product: str | None = None) -> bool:
        query: dict[str, Any] = {"slug": slug}
        if except_product is not None:
            query["_id"] = {"$ne": except_product}
        return await self.products.find_one(query, {"_id": 1}) is not None

    async def raw(self, product_id: str) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.products.find_one({"_id": product_id})
        return doc

    async def raw_by_sku(self, sku: str) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.products.find_one({"variants.sku": sku})
        return doc

    # ---- writes ------------------------------------------------------------------------------------

    async def insert(self, doc: dict[str, Any]) -> None:
        """Raises DuplicateKeyError on a taken slug or SKU."""
        await self.products.insert_one(doc)

    async def upsert_seed(self, doc: dict[str, Any]) -> bool:
        """Insert a seed document unless one with its id exists (live data is never overwritten)."""
        result = await self.products.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
        return result.upserted_id is not None

    async def replace_if_rev(self, doc: dict[str, Any], rev: int) -> bool:
        """Write `doc` (whose rev is `rev + 1`) only if the stored one is still at `rev`."""
        result = await self.products.replace_one({"_id": doc["_id"], "rev": rev}, doc)
        return bool(result.matched_count)

    async def set_fields(self, product_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.products.find_one_and_update(
            {"_id": product_id}, {"$set": fields, "$inc": {"rev": 1}},
            projection=PUBLIC_PROJECTION, return_document=ReturnDocument.AFTER,
        )
        return doc

    async def set_on_hand(self, product_id: str, index: int, sku: str, reserved: int, on_hand: int,
                          updated_at: Any) -> bool:
        """Set a variant's on-hand units if its reserved units are still `reserved`."""
        v = f"variants.{index}"
        result = await self.products.update_one(
            {"_id": product_id, f"{v}.sku": sku, f"{v}.stock.reserved": reserved},
            {"$set": {f"{v}.stock.on_hand": on_hand, f"{v}.stock.available": on_hand - reserved,
                      "updated_at": updated_at}, "$inc": {"rev": 1}},
        )
        return bool(result.matched_count)

    async def hold(self, sku: str, quantity: int, order_id: str) -> HoldResult:
        """Hold `quantity` units of `sku` under the hold key `order_id`: never below zero available, at
        most once per key."""
        for _ in range(MAX_ATTEMPTS):
            doc = await self.raw_by_sku(sku)
            if doc is None:
                return HoldResult(HoldOutcome.UNKNOWN)
            index, variant = _variant_at(doc, sku)
            if order_id in variant.get("holds", {}):
                return HoldResult(HoldOutcome.HELD, doc["_id"])
            available = int(variant["stock"]["available"])
            if doc["status"] != "ACTIVE":
                return HoldResult(HoldOutcome.INSUFFICIENT, doc["_id"], 0)
            if available < quantity:
                return HoldResult(HoldOutcome.INSUFFICIENT, doc["_id"], available)
            v = f"variants.{index}"
            result = await self.products.update_one(
                {"_id": doc["_id"], "status": "ACTIVE", f"{v}.sku": sku,
                 f"{v}.stock.available": {"$gte": quantity}, f"{v}.holds.{order_id}": {"$exists": False}},
                {"$inc": {f"{v}.stock.available": -quantity, f"{v}.stock.reserved": quantity, "rev": 1},
                 "$set": {f"{v}.holds.{order_id}": quantity}},
            )
            if result.modified_count:
                return HoldResult(HoldOutcome.HELD, doc["_id"])
        raise RuntimeError(f"could not hold {sku} for {order_id}: too much contention")

    async def drop_hold(self, sku: str, order_id: str, *, commit: bool) -> str | None:
        """Remove the hold under the key `order_id` on `sku`: back to available (release) or out of stock
        on hand (commit). Returns the product id when a hold was removed now, None when there was none."""
        for _ in range(MAX_ATTEMPTS):
            doc = await self.raw_by_sku(sku)
            if doc is None:
                return None
            index, variant = _variant_at(doc, sku)
            held = variant.get("holds", {}).get(order_id)
            if held is None:
                return None
            v = f"variants.{index}"
            change = ({f"{v}.stock.on_hand": -held, f"{v}.stock.reserved": -held} if commit
                      else {f"{v}.stock.available": held, f"{v}.stock.reserved": -held})
            result = await self.products.update_one(
                {"_id": doc["_id"], f"{v}.sku": sku, f"{v}.holds.{order_id}": held},
                {"$inc": {**change, "rev": 1}, "$unset": {f"{v}.holds.{order_id}": ""}},
            )
            if result.modified_count:
                return str(doc["_id"])
        raise RuntimeError(f"could not release {sku} for {order_id}: too much contention")


def _is_mongomock(collection: Any) -> bool:
    return any(cls.__module__.startswith("mongomock") for cls in type(collection).__mro__)


def _variant_at(doc: dict[str, Any], sku: str) -> tuple[int, dict[str, Any]]:
    for index, variant in enumerate(doc["variants"]):
        if variant["sku"] == sku:
            return index, variant
    raise LookupError(sku)


__all__ = ["CatalogStore", "DuplicateKeyError", "HoldOutcome", "HoldResult"]
