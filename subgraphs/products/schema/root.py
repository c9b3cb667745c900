"""Query and Mutation roots of the products subgraph."""

from __future__ import annotations

from typing import Annotated

import strawberry

from subgraphs.kit.cache_hints import cache_hints
from subgraphs.kit.errors import BadUserInput
from subgraphs.kit.pagination import Edge, check_page_size, page_info
from subgraphs.kit.schema import federation_schema
from subgraphs.products.cache_policy import IN_STOCK_TAG, cache_policy, gateway_invalidations, product_tag
from subgraphs.products.config import ProductsConfig
from subgraphs.products.ids import require_product_id
from subgraphs.products.inventory import ReservationState as DomainState
from subgraphs.products.listing import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    CatalogFilter,
    SortOrder,
    encode_cursor,
)
from subgraphs.products.schema.admin import (
    CreateProductInput,
    ProductPayload,
    ProductSuccess,
    StockPayload,
    StockSuccess,
    UpdateProductInput,
    ValidationError,
)
from subgraphs.products.schema.cart import Cart, CartResult, User, cart_result, viewer_id
from subgraphs.products.schema.context import CATALOG_WRITE, INVENTORY_WRITE, Info
from subgraphs.products.schema.inventory import (
    StockCommitResult,
    StockLineInput,
    StockReleaseResult,
    StockReservationResult,
    reservation_result,
    state_of,
)
from subgraphs.products.schema.types import (
    Category,
    Product,
    ProductConnection,
    ProductFilter,
    ProductSort,
    Variant,
    product_loader,
)
from subgraphs.products.validation import ValidationFailed

MAX_SKUS = 100


def _check_sku(sku: str) -> str:
    if not sku or len(sku) > 64:
        raise BadUserInput("a SKU has 1-64 characters", argument="sku")
    return sku


@strawberry.type
class Query:
    @strawberry.field(description="A product by id (archived ones too); null when there is none.")
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return await Product.resolve_reference(info, id)

    @strawberry.field(description="A product by its slug.")
    async def product_by_slug(self, info: Info, slug: str) -> Product | None:
        doc = await info.context.products.catalog.by_slug(slug[:200])
        if doc is None:
            return None
        info.context.tag_cache(product_tag(doc["_id"]))
        return Product.from_plain(doc)

    @strawberry.field(description="A variant by SKU; null when there is none.")
    async def variant(self, info: Info, sku: str) -> Variant | None:
        found = await info.context.products.catalog.by_skus([_check_sku(sku)])
        if sku not in found:
            return None
        info.context.tag_cache(product_tag(found[sku][0]["_id"]))
        return Product.from_plain(found[sku][0]).variant(sku)

    @strawberry.field(description=f"Variants by SKU (at most {MAX_SKUS}), in the order asked; null for unknown SKUs.")
    async def variants(self, info: Info, skus: list[str]) -> list[Variant | None]:
        if len(skus) > MAX_SKUS:
            raise BadUserInput(f"at most {MAX_SKUS} SKUs at once", argument="skus")
        found = await info.context.products.catalog.by_skus([_check_sku(s) for s in skus])
        info.context.tag_cache(*[product_tag(product["_id"]) for product, _ in found.values()])
        products = {sku: Product.from_plain(product) for sku, (product, _) in found.items()}
        return [products[sku].variant(sku) if sku in products else None for sku in skus]

    @strawberry.field(description="Categories that have active products, by slug.")
    async def categories(self, info: Info) -> list[Category]:
        return [Category(name=c["name"], slug=c["slug"], product_count=c["count"])
                for c in await info.context.products.catalog.categories()]

    @strawberry.field(description=(
        f"Active products, a page at a time (keyset pagination). `first` defaults to {DEFAULT_PAGE_SIZE} and may be "
        f"0..{MAX_PAGE_SIZE}; a larger or negative value is refused with BAD_USER_INPUT, as is a cursor that "
        "did not come from this listing's sort order."))
    async def products(
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        filter: ProductFilter | None = None,
        sort_by: ProductSort = ProductSort.NEWEST,
    ) -> ProductConnection:
        check_page_size(first, minimum=0, maximum=MAX_PAGE_SIZE)
        catalog_filter = filter.to_filter() if filter is not None else CatalogFilter()
        order = SortOrder(sort_by.value)
        page = await info.context.products.catalog.page(catalog_filter, order, first, after)
        info.context.tag_cache(*[product_tag(row["_id"]) for row in page.rows])
        if catalog_filter.in_stock is not None:  # which products are listed depends on stock
            info.context.tag_cache(IN_STOCK_TAG)
        edges = [Edge(cursor=encode_cursor(order, row), node=Product.from_plain(row)) for row in page.rows]
        loader = product_loader(info)
        for edge in edges:  # later entity lookups of these products in this request need no query
            loader.prime(str(edge.node.id), edge.node)
        return ProductConnection(
            edges=edges,
            page_info=page_info(edges, has_next_page=page.has_next, after=after, empty_end_cursor=after),
            filter=catalog_filter,
        )

    # Not shareable: `me` lives in this subgraph alone (docs/architecture.md, "Nullability across subgraphs").
    @strawberry.federation.field(description="The signed-in user (UNAUTHENTICATED without a token).")
    def me(self, info: Info) -> User | None:
        return User(id=strawberry.ID(viewer_id(info)))


@strawberry.type
class Mutation:
    # ---- admin (catalog:write) ---------------------------------------------------------------------

    @strawberry.mutation
    async def create_product(self, info: Info, input: CreateProductInput) -> ProductPayload:
        info.context.require_scope(CATALOG_WRITE)
        try:
            doc = await info.context.products.catalog.create(input.to_spec())
        except ValidationFailed as exc:
            return ValidationError.from_exception(exc)
        info.context.invalidate(*gateway_invalidations([doc["_id"]], stock=False))  # and the listings with it
        return ProductSuccess(product=Product.from_plain(doc))

    @strawberry.mutation(description="Change a product; omitted fields are kept.")
    async def update_product(self, info: Info, id: strawberry.ID, input: UpdateProductInput) -> ProductPayload:
        info.context.require_scope(CATALOG_WRITE)
        try:
            doc = await info.context.products.catalog.update(require_product_id(str(id)), input.to_patch())
        except ValidationFailed as exc:
            return ValidationError.from_exception(exc)
        info.context.invalidate(*gateway_invalidations([doc["_id"]], stock=False))
        return ProductSuccess(product=Product.from_plain(doc))

    @strawberry.mutation(description="Take a product off sale (idempotent). It stays readable by id.")
    async def archive_product(self, info: Info, id: strawberry.ID) -> ProductPayload:
        info.context.require_scope(CATALOG_WRITE)
        doc = await info.context.products.catalog.archive(require_product_id(str(id)))
        info.context.invalidate(*gateway_invalidations([doc["_id"]], stock=False))
        return ProductSuccess(product=Product.from_plain(doc))

    @strawberry.mutation(description="Set the units on hand of a variant; it may not go below the reserved units.")
    async def set_stock(self, info: Info, sku: str, on_hand: int) -> StockPayload:
        info.context.require_scope(CATALOG_WRITE)
        try:
            doc, found_sku = await info.context.products.catalog.set_stock(_check_sku(sku), on_hand)
        except ValidationFailed as exc:
            return ValidationError.from_exception(exc)
        info.context.invalidate(*gateway_invalidations([doc["_id"]], stock=True))
        return StockSuccess(variant=Product.from_plain(doc).variant(found_sku))

    # ---- cart (signed-in user) ---------------------------------------------------------------------

    @strawberry.mutation(description="Add units of a SKU to the cart (1..1000 per line in total).")
    async def add_to_cart(self, info: Info, sku: str, quantity: int = 1) -> CartResult:
        user = viewer_id(info)
        return cart_result(await info.context.products.carts.add(user, _check_sku(sku), quantity))

    @strawberry.mutation(description="Set the quantity of a line (1..1000); NOT_FOUND when the SKU is not in the cart.")
    async def update_cart_line(self, info: Info, sku: str, quantity: int) -> CartResult:
        user = viewer_id(info)
        return cart_result(await info.context.products.carts.update(user, _check_sku(sku), quantity))

    @strawberry.mutation(description="Remove a line (idempotent).")
    async def remove_cart_line(self, info: Info, sku: str) -> Cart:
        user = viewer_id(info)
        return Cart.from_view(await info.context.products.carts.remove(user, _check_sku(sku)))

    @strawberry.mutation(description="Empty the cart (idempotent).")
    async def clear_cart(self, info: Info) -> Cart:
        user = viewer_id(info)
        return Cart.from_view(await info.context.products.carts.clear(user))

    # ---- inventory (inventory:write, for the orders service) ---------------------------------------

    @strawberry.federation.mutation(inaccessible=True, description=(
        "Hold stock for an order: all lines or none. Idempotent per orderId: while held, a repeat (any attempt) "
        "returns the existing reservation and changes nothing but its attempt. Once released, it answers "
        "StockReservationReleased, and holds afresh only for an attempt above every one it has seen."))
    async def reserve_stock(
        self, info: Info, order_id: strawberry.ID, lines: list[StockLineInput],
        attempt: Annotated[int, strawberry.argument(description=(
            "The caller's attempt number for this order (orders counts its checkout attempts); 0 or more."))] = 0,
    ) -> StockReservationResult:
        info.context.require_scope(INVENTORY_WRITE)
        outcome = await info.context.products.inventory.reserve(
            str(order_id), [(_check_sku(line.sku), line.quantity) for line in lines], attempt)
        return reservation_result(outcome)

    @strawberry.federation.mutation(inaccessible=True, description=(
        "Give an order's held units back (idempotent). With an attempt, only if no higher attempt asked for them "
        "since (a higher one may hold them afresh later); without, for good: the order was cancelled."))
    async def release_stock(
        self, info: Info, order_id: strawberry.ID,
        attempt: Annotated[int | None, strawberry.argument(description=(
            "The checkout attempt being given up (the stale-checkout sweep); null: the order is cancelled."))] = None,
    ) -> StockReleaseResult:
        info.context.require_scope(INVENTORY_WRITE)
        reservation = await info.context.products.inventory.release(str(order_id), attempt)
        return StockReleaseResult(order_id=order_id, released=reservation is not None
                                  and reservation.state is DomainState.RELEASED, state=state_of(reservation))

    @strawberry.federation.mutation(inaccessible=True, description=(
        "The order is paid: its held units leave stock on hand (idempotent). committed: false when nothing is "
        "held for it (released, or no reservation): then no stock was taken."))
    async def commit_stock(self, info: Info, order_id: strawberry.ID) -> StockCommitResult:
        info.context.require_scope(INVENTORY_WRITE)
        reservation = await info.context.products.inventory.commit(str(order_id))
        return StockCommitResult(order_id=order_id, committed=reservation is not None
                                 and reservation.state is DomainState.COMMITTED, state=state_of(reservation))


def build_schema(config: ProductsConfig | None = None) -> strawberry.federation.Schema:
    """`config` sets the cache hints the gateway follows (subgraphs.products.cache_policy)."""
    policy = cache_policy(config or ProductsConfig())
    return federation_schema(query=Query, mutation=Mutation, types=[User], extensions=[cache_hints(policy)])
