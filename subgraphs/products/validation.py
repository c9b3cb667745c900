"""Validation of catalog writes. Problems are collected per field and returned as one typed error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from subgraphs.kit.money import MAX_UNIT_PRICE
from subgraphs.products.currencies import ISO_4217
from subgraphs.products.ids import slugify

MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_CATEGORY = 100
MAX_IMAGES = 20
MAX_URL = 2048
MAX_VARIANTS = 100
MAX_OPTIONS = 10
MAX_OPTION_TEXT = 50
MAX_ON_HAND = 1_000_000_000
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class FieldIssue:
    field: str
    message: str


class ValidationFailed(Exception):
    """A catalog write was refused; the API answers it as a `ValidationError` payload."""

    def __init__(self, issues: list[FieldIssue]) -> None:
        super().__init__("; ".join(f"{i.field}: {i.message}" for i in issues))
        self.issues = issues


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    options: list[tuple[str, str]]
    price_amount: int
    currency: str
    on_hand: int | None = None


@dataclass(frozen=True)
class ProductSpec:
    name: str
    category: str
    variants: list[VariantSpec]
    slug: str | None = None
    description: str = ""
    images: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProductPatch:
    """Fields left None are kept. `variants`, when given, is the complete new list (matched by SKU)."""

    name: str | None = None
    slug: str | None = None
    description: str | None = None
    category: str | None = None
    images: list[str] | None = None
    status: str | None = None
    variants: list[VariantSpec] | None = None


class _Collector:
    def __init__(self) -> None:
        self.issues: list[FieldIssue] = []

    def add(self, path: str, message: str) -> None:
        self.issues.append(FieldIssue(path, message))

    def text(self, path: str, value: str, maximum: int, *, required: bool = True) -> str:
        value = value.strip()
        if required and not value:
            self.add(path, "must not be empty")
        elif len(value) > maximum:
            self.add(path, f"must be at most {maximum} characters")
        return value

    def raise_if_any(self) -> None:
        if self.issues:
            raise ValidationFailed(self.issues)


def _check_variants(c: _Collector, variants: list[VariantSpec], path: str) -> list[VariantSpec]:
    if not variants:
        c.add(path, "a product needs at least one variant")
    elif len(variants) > MAX_VARIANTS:
        c.add(path, f"at most {MAX_VARIANTS} variants")
    seen: set[str] = set()
    currencies = set()
    cleaned = []
    for index, variant in enumerate(variants):
        at = f"{path}[{index}]"
        sku = variant.sku.strip()
        if not _SKU.match(sku):
            c.add(f"{at}.sku", "must be 1-64 characters of letters, digits, '.', '_' or '-', starting alphanumeric")
        elif sku.upper() in seen:
            c.add(f"{at}.sku", f"SKU {sku!r} appears twice in this product")
        seen.add(sku.upper())
        if not 0 < variant.price_amount <= MAX_UNIT_PRICE:  # so a whole cart of it stays a MinorUnits amount
            c.add(f"{at}.price.amount", f"must be a positive amount in minor units, at most {MAX_UNIT_PRICE}")
        currency = variant.currency.strip().upper()
        if currency not in ISO_4217:
            c.add(f"{at}.price.currency", f"{variant.currency!r} is not an ISO 4217 currency code")
        currencies.add(currency)
        if variant.on_hand is not None and not 0 <= variant.on_hand <= MAX_ON_HAND:
            c.add(f"{at}.onHand", f"must be between 0 and {MAX_ON_HAND}")
        if len(variant.options) > MAX_OPTIONS:
            c.add(f"{at}.options", f"at most {MAX_OPTIONS} options")
        names: set[str] = set()
        options = []
        for o_index, (name, value) in enumerate(variant.options):
            o_name = c.text(f"{at}.options[{o_index}].name", name, MAX_OPTION_TEXT)
            o_value = c.text(f"{at}.options[{o_index}].value", value, MAX_OPTION_TEXT)
            if o_name.lower() in names:
                c.add(f"{at}.options[{o_index}].name", f"option {o_name!r} appears twice")
            names.add(o_name.lower())
            options.append((o_name, o_value))
        cleaned.append(VariantSpec(sku, options, variant.price_amount, currency, variant.on_hand))
    if len(currencies) > 1:
        c.add(path, "all variants of a product must be priced in one currency")
    return cleaned


def _check_images(c: _Collector, images: list[str], path: str) -> list[str]:
    if len(images) > MAX_IMAGES:
        c.add(path, f"at most {MAX_IMAGES} images")
    cleaned = []
    for index, url in enumerate(images):
        url = url.strip()
        if not url or len(url) > MAX_URL or not url.startswith(("https://", "http://", "/")):
            c.add(f"{path}[{index}]", f"must be an http(s) URL or an absolute path, at most {MAX_URL} characters")
        cleaned.append(url)
    return cleaned


def _check_slug(c: _Collector, slug: str, path: str) -> str:
    slug = slug.strip()
    if not _SLUG.match(slug) or len(slug) > MAX_NAME:
        c.add(path, "must be lowercase letters and digits separated by single '-'")
    return slug


def validate_new_product(spec: ProductSpec) -> ProductSpec:
    """The cleaned spec, or `ValidationFailed` with every problem found."""
    c = _Collector()
    name = c.text("input.name", spec.name, MAX_NAME)
    slug = _check_slug(c, spec.slug, "input.slug") if spec.slug is not None else slugify(name)
    if spec.slug is None and name and not slug:
        c.add("input.slug", "cannot be derived from the name: give one")
    description = c.text("input.description", spec.description, MAX_DESCRIPTION, required=False)
    category = c.text("input.category", spec.category, MAX_CATEGORY)
    if category and not slugify(category):
        c.add("input.category", "must contain letters or digits")
    images = _check_images(c, spec.images, "input.images")
    variants = _check_variants(c, spec.variants, "input.variants")
    c.raise_if_any()
    return ProductSpec(name, category, variants, slug, description, images)


def validate_patch(patch: ProductPatch) -> ProductPatch:
    c = _Collector()
    name = c.text("input.name", patch.name, MAX_NAME) if patch.name is not None else None
    slug = _check_slug(c, patch.slug, "input.slug") if patch.slug is not None else None
    description = (
        c.text("input.description", patch.description, MAX_DESCRIPTION, required=False)
        if patch.description is not None else None
    )
    category = c.text("input.category", patch.category, MAX_CATEGORY) if patch.category is not None else None
    if category and not slugify(category):
        c.add("input.category", "must contain letters or digits")
    images = _check_images(c, patch.images, "input.images") if patch.images is not None else None
    variants = _check_variants(c, patch.variants, "input.variants") if patch.variants is not None else None
    if patch.status is not None and patch.status not in {"ACTIVE", "ARCHIVED"}:
        c.add("input.status", "must be ACTIVE or ARCHIVED")
    c.raise_if_any()
    return ProductPatch(name, slug, description, category, images, patch.status, variants)


def validate_on_hand(on_hand: int, reserved: int, path: str = "onHand") -> None:
    c = _Collector()
    if not 0 <= on_hand <= MAX_ON_HAND:
        c.add(path, f"must be between 0 and {MAX_ON_HAND}")
    elif on_hand < reserved:
        c.add(path, f"cannot be below the {reserved} units reserved for orders")
    c.raise_if_any()


def price_doc(variant: VariantSpec) -> dict[str, Any]:
    return {"amount": variant.price_amount, "currency": variant.currency}
