"""What the products subgraph tells the gateway's cache (kit.cache_hints): the catalog is public
for `catalog_max_age`, stock and availability for `stock_max_age`, carts and `me` never.

Every cacheable answer is tagged (`Cache-Tag`), so a stock write voids only what it touches:

- `product:<id>`: each product the answer holds (its resolver tags it), whatever it shows of it;
- `catalog`: answers that depend on which products exist and how they sort (listings, categories,
  lookups by slug or SKU), voided by catalog writes (create, update, archive);
- `instock`: listings filtered on availability, whose membership any stock write may change.

A catalog write invalidates the product's tag, `catalog` and `instock`; a stock write (a reservation,
a release, a commit, `setStock`) the product's tag and `instock`. So during an order spike a listing
that is not filtered on availability stays cached until a product on it changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from subgraphs.kit.cache_hints import NEVER, CachePolicy, Hint
from subgraphs.products.config import ProductsConfig

CATALOG_FIELDS = ("product", "productBySlug", "variant", "variants", "categories", "products")
# whose answer depends on the set of products, not only on the ones it returns
CATALOG_WIDE = ("productBySlug", "variant", "variants", "categories", "products")
CATALOG_TAG = "catalog"
IN_STOCK_TAG = "instock"


def product_tag(product_id: str) -> str:
    return f"product:{product_id}"


def cache_policy(config: ProductsConfig) -> CachePolicy:
    catalog = Hint(config.catalog_max_age, tags=())
    wide = Hint(config.catalog_max_age, tags=(CATALOG_TAG,))
    stock = Hint(min(config.stock_max_age, config.catalog_max_age), tags=())
    fields = {f"Query.{name}": wide if name in CATALOG_WIDE else catalog for name in CATALOG_FIELDS}
    fields.update({"Query.me": NEVER, "Product.inStock": stock, "Variant.inStock": stock})
    return CachePolicy(fields=fields, types={"Product": catalog, "Stock": stock, "Cart": NEVER, "User": NEVER})


def gateway_invalidations(product_ids: Sequence[str], *, stock: bool) -> list[dict[str, Any]]:
    """The gateway cache invalidations of a write to `product_ids` (`stock`: only their stock changed)."""
    items: list[dict[str, Any]] = []
    for product_id in dict.fromkeys(product_ids):
        items += [{"kind": "entity", "type": "Product", "key": {"id": product_id}},
                  {"kind": "tag", "tag": product_tag(product_id)}]
    if items:
        items.append({"kind": "tag", "tag": IN_STOCK_TAG})
        if not stock:
            items.append({"kind": "tag", "tag": CATALOG_TAG})
    return items
