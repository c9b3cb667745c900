"""Admin inputs and payloads for catalog writes (scope catalog:write)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from subgraphs.kit.money import MAX_UNIT_PRICE, MinorUnits
from subgraphs.products.schema.types import Product, ProductStatus, Variant
from subgraphs.products.validation import ProductPatch, ProductSpec, ValidationFailed, VariantSpec


@strawberry.input
class MoneyInput:
    amount: MinorUnits = strawberry.field(description=f"Minor units (cents), 1..{MAX_UNIT_PRICE}.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD.")


@strawberry.input
class VariantOptionInput:
    name: str
    value: str


@strawberry.input(description="A variant. On update, variants are matched by SKU: unmatched ones are added, "
                              "missing ones removed (refused while units are reserved).")
class VariantInput:
    sku: str
    price: MoneyInput
    options: list[VariantOptionInput] = strawberry.field(default_factory=list)
    on_hand: int | None = strawberry.field(
        default=None, description="Units on hand (default 0 for a new variant; unchanged when omitted on update).")

    def to_spec(self) -> VariantSpec:
        return VariantSpec(self.sku, [(o.name, o.value) for o in self.options], self.price.amount,
                           self.price.currency, self.on_hand)


@strawberry.input
class CreateProductInput:
    name: str
    category: str
    variants: list[VariantInput]
    slug: str | None = strawberry.field(default=None, description="Default: derived from the name.")
    description: str = ""
    images: list[str] = strawberry.field(default_factory=list)

    def to_spec(self) -> ProductSpec:
        return ProductSpec(self.name, self.category, [v.to_spec() for v in self.variants], self.slug,
                           self.description, list(self.images))


@strawberry.input(description="Omitted fields are kept. `variants`, when given, is the complete new list.")
class UpdateProductInput:
    name: str | None = None
    slug: str | None = None
    description: str | None = None
    category: str | None = None
    images: list[str] | None = None
    status: ProductStatus | None = None
    variants: list[VariantInput] | None = None

    def to_patch(self) -> ProductPatch:
        return ProductPatch(
            self.name, self.slug, self.description, self.category,
            list(self.images) if self.images is not None else None,
            self.status.value if self.status is not None else None,
            [v.to_spec() for v in self.variants] if self.variants is not None else None,
        )


@strawberry.type
class FieldError:
    field: str = strawberry.field(description="Path of the offending input, e.g. input.variants[0].price.amount.")
    message: str


@strawberry.type(description="The write was refused; nothing was changed.")
class ValidationError:
    message: str
    field_errors: list[FieldError]

    @classmethod
    def from_exception(cls, exc: ValidationFailed) -> ValidationError:
        return cls(message="invalid input", field_errors=[FieldError(field=i.field, message=i.message)
                                                           for i in exc.issues])


@strawberry.type
class ProductSuccess:
    product: Product


@strawberry.type
class StockSuccess:
    variant: Variant


ProductPayload = Annotated[ProductSuccess | ValidationError, strawberry.union("ProductPayload")]
StockPayload = Annotated[StockSuccess | ValidationError, strawberry.union("StockPayload")]
