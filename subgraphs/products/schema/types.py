"""Catalog types: Product (an entity), Variant, Stock, the listing connection, categories."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import cast

import strawberry
from strawberry.dataloader import DataLoader

from subgraphs.kit.money import MinorUnits, Money
from subgraphs.kit.pagination import Edge, PageInfo
from subgraphs.kit.representations import entity_id
from subgraphs.products.cache_policy import product_tag
from subgraphs.products.catalog import Plain
from subgraphs.products.ids import require_product_id
from subgraphs.products.listing import CatalogFilter
from subgraphs.products.schema.context import Info


@strawberry.enum
class ProductStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


@strawberry.type(description="One option value of a variant, such as size M or colour Navy.")
class VariantOption:
    name: str
    value: str


@strawberry.type(description="Units of a variant: on hand in the warehouse, reserved for orders, available to sell.")
class Stock:
    on_hand: int
    reserved: int
    available: int


@strawberry.type(description="A purchasable version of a product, identified by its SKU.")
class Variant:
    id: strawberry.ID
    sku: str
    options: list[VariantOption]
    price: Money
    stock: Stock
    # Typed loosely: strawberry's entity discovery would otherwise count Product twice.
    parent: strawberry.Private[object]

    @strawberry.field
    def product(self) -> Product:
        return cast("Product", self.parent)

    @strawberry.field(description="Whether at least one unit can be sold now.")
    def in_stock(self) -> bool:
        return self.stock.available > 0 and cast("Product", self.parent).status is ProductStatus.ACTIVE


@strawberry.type(description="The lowest and highest variant price of a product.")
class PriceRange:
    min: Money
    max: Money


@strawberry.federation.type(keys=["id"], description="A catalog product with its variants.")
class Product:
    id: strawberry.ID
    # Shareable: orders @provides the name it recorded on its order lines.
    name: str = strawberry.federation.field(shareable=True)
    slug: str
    description: str
    category: str
    images: list[str]
    status: ProductStatus
    created_at: datetime
    updated_at: datetime
    price_range: PriceRange
    variants: list[Variant]

    @strawberry.field(description="Whether any variant can be sold now.")
    def in_stock(self) -> bool:
        return self.status is ProductStatus.ACTIVE and any(v.stock.available > 0 for v in self.variants)

    @classmethod
    def from_plain(cls, doc: Plain) -> Product:
        currency = doc["currency"]
        product = cls(
            id=strawberry.ID(doc["_id"]),
            name=doc["name"],
            slug=doc["slug"],
            description=doc["description"],
            category=doc["category"],
            images=list(doc["images"]),
            status=ProductStatus(doc["status"]),
            created_at=datetime.fromisoformat(doc["created_at"]),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
            price_range=PriceRange(min=Money(amount=doc["price_min"], currency=currency),
                                   max=Money(amount=doc["price_max"], currency=currency)),
            variants=[],
        )
        product.variants = [
            Variant(
                id=strawberry.ID(v["id"]),
                sku=v["sku"],
                options=[VariantOption(name=o["name"], value=o["value"]) for o in v["options"]],
                price=Money.from_doc(v["price"]),
                stock=Stock(on_hand=v["stock"]["on_hand"], reserved=v["stock"]["reserved"],
                            available=v["stock"]["available"]),
                parent=product,
            )
            for v in doc["variants"]
        ]
        return product

    def variant(self, sku: str) -> Variant:
        return next(v for v in self.variants if v.sku == sku)

    @classmethod
    async def resolve_reference(cls, info: Info, id: object = None, **_: object) -> Product | None:
        product_id = require_product_id(str(entity_id(id, "Product")))
        info.context.tag_cache(product_tag(product_id))  # found or not: its creation voids the answer
        return await product_loader(info).load(product_id)


def product_loader(info: Info) -> DataLoader[str, Product | None]:
    """Per request: every product looked up by id while resolving it is loaded in one batch."""
    catalog = info.context.products.catalog

    async def load(ids: list[str]) -> list[Product | None]:
        found = await catalog.products_by_ids(ids)
        return [Product.from_plain(doc) if (doc := found.get(i)) is not None else None for i in ids]

    loader: DataLoader[str, Product | None] = info.context.loader("products", lambda: DataLoader(load_fn=load))
    return loader


@strawberry.type(description="A page of products in a stable order; pass `pageInfo.endCursor` as `after`.")
class ProductConnection:
    edges: list[Edge[Product]]
    page_info: PageInfo
    filter: strawberry.Private[CatalogFilter]

    @strawberry.field
    def nodes(self) -> list[Product]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many products match the filter, over all pages.")
    async def total_count(self, info: Info) -> int:
        return await info.context.products.catalog.count(self.filter)


@strawberry.type(description="A product category with the number of active products in it.")
class Category:
    name: str
    slug: str
    product_count: int


@strawberry.enum(description="Listing order. Ties are broken by product id, so pages never overlap.")
class ProductSort(enum.Enum):
    NEWEST = "NEWEST"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    NAME = "NAME"


@strawberry.input(description="Every given condition must hold. Archived products are never listed.")
class ProductFilter:
    search: str | None = strawberry.field(
        default=None, description="Words that each begin a word of the name, description or a SKU, ignoring "
                                  "case and accents: \"creme brul\" finds \"Crème Brûlée\" (at most 100 characters).")
    category: str | None = strawberry.field(default=None, description="A category name or slug.")
    min_price: MinorUnits | None = strawberry.field(
        default=None, description="Some variant costs at least this (minor units).")
    max_price: MinorUnits | None = strawberry.field(
        default=None, description="Some variant costs at most this (minor units).")
    in_stock: bool | None = strawberry.field(
        default=None, description="true: some variant has units available; false: none has.")

    def to_filter(self) -> CatalogFilter:
        return CatalogFilter(self.search, self.category, self.min_price, self.max_price, self.in_stock).validated()


@strawberry.federation.type(shareable=True, description="No variant has this SKU.")
class UnknownVariant:
    sku: str


@strawberry.federation.type(shareable=True, description="Fewer units are available than requested.")
class InsufficientStock:
    sku: str
    requested: int
    available: int
