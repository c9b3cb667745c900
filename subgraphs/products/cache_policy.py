"""What the products subgraph tells the gateway's cache (kit.cache_hints): the catalog is public
for `catalog_max_age`, stock and availability for `stock_max_age`, carts and `me` never."""

from __future__ import annotations

from subgraphs.kit.cache_hints import NEVER, CachePolicy, Hint
from subgraphs.products.config import ProductsConfig

CATALOG_FIELDS = ("product", "productBySlug", "variant", "variants", "categories", "products")


def cache_policy(config: ProductsConfig) -> CachePolicy:
    catalog = Hint(config.catalog_max_age)
    stock = Hint(min(config.stock_max_age, config.catalog_max_age))
    fields = {f"Query.{name}": catalog for name in CATALOG_FIELDS}
    fields.update({"Query.me": NEVER, "Product.inStock": stock, "Variant.inStock": stock})
    # `ProductFilter.inStock` makes a listing depend on stock too: every stock write invalidates the
    # subgraph's root queries at the gateway (kit.gateway_cache), so the catalog max-age is safe there.
    return CachePolicy(fields=fields, types={"Product": catalog, "Stock": stock, "Cart": NEVER, "User": NEVER})
