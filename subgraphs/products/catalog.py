"""The catalog: cached reads of products and listings, and the admin writes that invalidate them.

Reads return "plain" product documents (JSON-safe: timestamps as ISO strings), the same shape whether
they come from MongoDB or from Redis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from subgraphs.kit.clock import utcnow
from subgraphs.kit.errors import NotFound
from subgraphs.products.cache import CATALOG_VERSION_KEY, CatalogCache, listing_entry_key
from subgraphs.products.ids import new_id, slugify
from subgraphs.products.listing import CatalogFilter, SortOrder, after_clause, decode_cursor, sort_spec
from subgraphs.products.search import search_fields
from subgraphs.products.store import MAX_ATTEMPTS, CatalogStore
from subgraphs.products.validation import (
    FieldIssue,
    ProductPatch,
    ProductSpec,
    ValidationFailed,
    VariantSpec,
    price_doc,
    validate_new_product,
    validate_on_hand,
    validate_patch,
)

Plain = dict[str, Any]
# Stored for writes and queries, never served (nor cached).
INTERNAL_FIELDS = frozenset({"rev", "search_tokens", "search_version"})


@dataclass(frozen=True)
class Page:
    rows: list[Plain]
    has_next: bool


def to_plain(doc: dict[str, Any]) -> Plain:
    """A product document as served: without internal fields, timestamps as ISO strings."""
    plain = {k: v for k, v in doc.items() if k not in INTERNAL_FIELDS}
    for key in ("created_at", "updated_at"):
        if isinstance(plain.get(key), datetime):
            plain[key] = plain[key].isoformat()
    plain["variants"] = [{k: v for k, v in variant.items() if k != "holds"} for variant in doc["variants"]]
    return plain


def variant_doc(spec: VariantSpec, variant_id: str, stock: dict[str, int] | None = None,
                holds: dict[str, int] | None = None) -> dict[str, Any]:
    if stock is None:
        on_hand = spec.on_hand or 0
        stock = {"on_hand": on_hand, "reserved": 0, "available": on_hand}
    return {
        "id": variant_id,
        "sku": spec.sku,
        "options": [{"name": name, "value": value} for name, value in spec.options],
        "price": price_doc(spec),
        "stock": stock,
        "holds": holds or {},
    }


def _derived(doc: dict[str, Any]) -> None:
    """Fields kept for queries and sorting, recomputed on every write of the document."""
    amounts = [v["price"]["amount"] for v in doc["variants"]]
    doc["price_min"] = min(amounts)
    doc["price_max"] = max(amounts)
    doc["currency"] = doc["variants"][0]["price"]["currency"]
    doc["name_sort"] = doc["name"].casefold()
    doc["category_slug"] = slugify(doc["category"])
    doc.update(search_fields(doc))


def new_product_doc(spec: ProductSpec, product_id: str, at: datetime,
                    variant_ids: Sequence[str] | None = None) -> dict[str, Any]:
    ids = list(variant_ids) if variant_ids is not None else [new_id() for _ in spec.variants]
    doc: dict[str, Any] = {
        "_id": product_id,
        "name": spec.name,
        "slug": spec.slug,
        "description": spec.description,
        "category": spec.category,
        "images": list(spec.images),
        "status": "ACTIVE",
        "created_at": at,
        "updated_at": at,
        "rev": 0,
        "variants": [variant_doc(v, i) for v, i in zip(spec.variants, ids, strict=True)],
    }
    _derived(doc)
    return doc


class Catalog:
    def __init__(self, store: CatalogStore, cache: CatalogCache) -> None:
        self.store = store
        self.cache = cache

    # ---- reads -------------------------------------------------------------------------------------

    async def products_by_ids(self, ids: Sequence[str]) -> dict[str, Plain | None]:
        async def load(missing: list[str]) -> dict[str, Any]:
            docs = await self.store.find_by_ids(missing)
            return {i: to_plain(docs[i]) if i in docs else None for i in missing}

        return await self.cache.get_many_or_load(ids, load)

    async def page(self, filter_: CatalogFilter, order: SortOrder, first: int, after: str | None) -> Page:
        query = filter_.to_query()
        if after is not None:
            query = {"$and": [query, after_clause(decode_cursor(after, order))]}

        async def load() -> dict[str, Any]:
            docs = await self.store.find_page(query, sort_spec(order), first + 1)
            return {"rows": [to_plain(d) for d in docs[:first]], "has_next": len(docs) > first}

        name = _hash("page", order.value, str(first), after or "", filter_.cache_key())
        entry = await self.cache.get_or_load(listing_entry_key(name), CATALOG_VERSION_KEY, load)
        return Page(entry["rows"], bool(entry["has_next"]))

    async def count(self, filter_: CatalogFilter) -> int:
        async def load() -> int:
            return await self.store.count(filter_.to_query())

        name = _hash("count", filter_.cache_key())
        return int(await self.cache.get_or_load(listing_entry_key(name), CATALOG_VERSION_KEY, load))

    async def categories(self) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            return [{"slug": c["_id"], "name": c["name"], "count": c["count"]} for c in await self.store.categories()]

        result: list[dict[str, Any]] = await self.cache.get_or_load(
            listing_entry_key("categories"), CATALOG_VERSION_KEY, load)
        return result

    async def by_skus(self, skus: Sequence[str]) -> dict[str, tuple[Plain, Plain]]:
        """sku -> (plain product, plain variant), for the SKUs that exist (read from MongoDB)."""
        wanted = set(skus)
        found: dict[str, tuple[Plain, Plain]] = {}
        for doc in await self.store.find_by_skus(list(wanted)):
            plain = to_plain(doc)
            for variant in plain["variants"]:
                if variant["sku"] in wanted:
                    found[variant["sku"]] = (plain, variant)
        return found

    async def by_slug(self, slug: str) -> Plain | None:
        doc = await self.store.find_by_slug(slug)
        return to_plain(doc) if doc is not None else None

    # ---- admin writes ------------------------------------------------------------------------------

    async def create(self, spec: ProductSpec) -> Plain:
        spec = validate_new_product(spec)
        assert spec.slug is not None
        await self._check_unique(spec.slug, [v.sku for v in spec.variants], None)
        doc = new_product_doc(spec, new_id(), utcnow())
        try:
            await self.store.insert(doc)
        except DuplicateKeyError as exc:
            raise _duplicate(exc) from None
        await self.cache.invalidate([doc["_id"]])
        return to_plain(doc)

    async def update(self, product_id: str, patch: ProductPatch) -> Plain:
        patch = validate_patch(patch)
        for _ in range(MAX_ATTEMPTS):
            current = await self.store.raw(product_id)
            if current is None:
                raise NotFound(f"no product with id {product_id}", argument="id")
            if patch.slug is not None or patch.variants is not None:
                await self._check_unique(patch.slug, [v.sku for v in patch.variants or []], product_id)
            updated = _apply_patch(current, patch)
            try:
                written = await self.store.replace_if_rev(updated, current["rev"])
            except DuplicateKeyError as exc:
                raise _duplicate(exc) from None
            if written:
                await self.cache.invalidate([product_id])
                return to_plain(updated)
        raise RuntimeError(f"product {product_id} changed too often to update")

    async def archive(self, product_id: str) -> Plain:
        doc = await self.store.set_fields(product_id, {"status": "ARCHIVED", "updated_at": utcnow()})
        if doc is None:
            raise NotFound(f"no product with id {product_id}", argument="id")
        await self.cache.invalidate([product_id])
        return to_plain(doc)

    async def set_stock(self, sku: str, on_hand: int) -> tuple[Plain, str]:
        for _ in range(MAX_ATTEMPTS):
            doc = await self.store.raw_by_sku(sku)
            if doc is None:
                raise NotFound(f"no variant with SKU {sku!r}", argument="sku")
            index = next(i for i, v in enumerate(doc["variants"]) if v["sku"] == sku)
            reserved = int(doc["variants"][index]["stock"]["reserved"])
            validate_on_hand(on_hand, reserved)
            if await self.store.set_on_hand(doc["_id"], index, sku, reserved, on_hand, utcnow()):
                await self.cache.invalidate([doc["_id"]], stock=True)
                fresh = await self.store.raw(doc["_id"])
                assert fresh is not None
                return to_plain(fresh), sku
        raise RuntimeError(f"stock of {sku} changed too often to set")

    async def _check_unique(self, slug: str | None, skus: list[str], product_id: str | None) -> None:
        issues = []
        if slug is not None and await self.store.slug_taken(slug, product_id):
            issues.append(FieldIssue("input.slug", f"slug {slug!r} is used by another product"))
        if skus:
            taken = await self.store.skus_taken(skus, product_id)
            issues += [FieldIssue(f"input.variants[{i}].sku", f"SKU {sku!r} is used by another product")
                       for i, sku in enumerate(skus) if sku in taken]
        if issues:
            raise ValidationFailed(issues)


def _apply_patch(current: dict[str, Any], patch: ProductPatch) -> dict[str, Any]:
    doc = dict(current)
    for key in ("name", "slug", "description", "category", "images", "status"):
        value = getattr(patch, key)
        if value is not None:
            doc[key] = list(value) if key == "images" else value
    if patch.variants is not None:
        existing = {v["sku"]: v for v in current["variants"]}
        variants = []
        issues = []
        for index, spec in enumerate(patch.variants):
            old = existing.pop(spec.sku, None)
            if old is None:
                variants.append(variant_doc(spec, new_id()))
                continue
            stock = dict(old["stock"])
            if spec.on_hand is not None:
                if spec.on_hand < stock["reserved"]:
                    issues.append(FieldIssue(f"input.variants[{index}].onHand",
                                             f"cannot be below the {stock['reserved']} units reserved for orders"))
                stock = {"on_hand": spec.on_hand, "reserved": stock["reserved"],
                         "available": spec.on_hand - stock["reserved"]}
            variants.append(variant_doc(spec, old["id"], stock, old.get("holds")))
        for sku, old in existing.items():
            if old.get("holds"):
                issues.append(FieldIssue("input.variants", f"SKU {sku!r} has units reserved for orders: keep it"))
        if issues:
            raise ValidationFailed(issues)
        doc["variants"] = variants
    doc["updated_at"] = utcnow()
    doc["rev"] = current["rev"] + 1
    _derived(doc)
    return doc


def _duplicate(exc: DuplicateKeyError) -> ValidationFailed:
    """A unique index caught a race the pre-check missed."""
    message = str(exc)
    if "slug" in message:
        return ValidationFailed([FieldIssue("input.slug", "this slug is used by another product")])
    return ValidationFailed([FieldIssue("input.variants", "a SKU of this product is used by another product")])


def _hash(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()
