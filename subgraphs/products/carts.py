"""The signed-in user's cart: one document per user, changed with optimistic single-document updates.

Lines hold only a SKU and a quantity; prices and availability are read live from the catalog whenever
the cart is shown, so a cart never shows a stale price.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from subgraphs.kit.clock import utcnow
from subgraphs.kit.errors import BadUserInput, NotFound
from subgraphs.kit.mongo import Database
from subgraphs.products.catalog import Catalog, Plain

CARTS = "carts"
MAX_LINE_QUANTITY = 1000
MAX_LINES = 100  # with MAX_LINE_QUANTITY: the kit's MAX_UNITS_PER_ORDER, so a subtotal fits MinorUnits
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class PricedLine:
    sku: str
    quantity: int
    product: Plain | None
    variant: Plain | None


@dataclass(frozen=True)
class CartView:
    user_id: str
    lines: list[PricedLine]
    updated_at: str | None

    @property
    def currency(self) -> str | None:
        return next((line.variant["price"]["currency"] for line in self.lines if line.variant), None)


@dataclass(frozen=True)
class CartInsufficient:
    sku: str
    requested: int
    available: int


@dataclass(frozen=True)
class CartUnknown:
    sku: str


@dataclass(frozen=True)
class CartCurrencyMismatch:
    sku: str
    currency: str
    cart_currency: str


CartOutcome = CartView | CartInsufficient | CartUnknown | CartCurrencyMismatch


def check_quantity(quantity: int) -> int:
    if not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise BadUserInput(f"quantity must be between 1 and {MAX_LINE_QUANTITY}", argument="quantity")
    return quantity


class Carts:
    def __init__(self, db: Database, catalog: Catalog) -> None:
        self.carts: Any = db[CARTS]
        self.catalog = catalog

    async def view(self, user_id: str) -> CartView:
        doc = await self.carts.find_one({"_id": user_id})
        return await self._view(user_id, doc)

    async def _view(self, user_id: str, doc: dict[str, Any] | None) -> CartView:
        lines = (doc or {}).get("lines", [])
        found = await self.catalog.by_skus([line["sku"] for line in lines]) if lines else {}
        priced = [PricedLine(line["sku"], line["quantity"], *found.get(line["sku"], (None, None))) for line in lines]
        updated = (doc or {}).get("updated_at")
        return CartView(user_id, priced, updated.isoformat() if updated is not None else None)

    async def add(self, user_id: str, sku: str, quantity: int) -> CartOutcome:
        check_quantity(quantity)
        return await self._set_line(user_id, sku, lambda current: current + quantity)

    async def update(self, user_id: str, sku: str, quantity: int) -> CartOutcome:
        check_quantity(quantity)

        def new_quantity(current: int) -> int:
            if current == 0:
                raise NotFound(f"SKU {sku!r} is not in the cart", argument="sku")
            return quantity

        return await self._set_line(user_id, sku, new_quantity)

    async def remove(self, user_id: str, sku: str) -> CartView:
        await self.carts.update_one({"_id": user_id}, {"$pull": {"lines": {"sku": sku}},
                                                      "$set": {"updated_at": utcnow()}, "$inc": {"rev": 1}})
        return await self.view(user_id)

    async def clear(self, user_id: str) -> CartView:
        await self.carts.update_one({"_id": user_id}, {"$set": {"lines": [], "updated_at": utcnow()},
                                                      "$inc": {"rev": 1}})
        return await self.view(user_id)

    async def _set_line(self, user_id: str, sku: str, quantity_from: Callable[[int], int]) -> CartOutcome:
        found = await self.catalog.by_skus([sku])
        if sku not in found:
            return CartUnknown(sku)
        product, variant = found[sku]
        for _ in range(MAX_ATTEMPTS):
            doc = await self.carts.find_one({"_id": user_id})
            lines: list[dict[str, Any]] = list((doc or {}).get("lines", []))
            current = next((line["quantity"] for line in lines if line["sku"] == sku), 0)
            quantity = quantity_from(current)
            if quantity > MAX_LINE_QUANTITY:
                raise BadUserInput(f"a cart line holds at most {MAX_LINE_QUANTITY} units", argument="quantity")
            available = int(variant["stock"]["available"]) if product["status"] == "ACTIVE" else 0
            if quantity > available:
                return CartInsufficient(sku, quantity, available)
            view = await self._view(user_id, doc)
            currency = variant["price"]["currency"]
            others = [line for line in view.lines if line.sku != sku and line.variant is not None]
            if others and others[0].variant is not None and others[0].variant["price"]["currency"] != currency:
                return CartCurrencyMismatch(sku, currency, others[0].variant["price"]["currency"])
            if current == 0:
                if len(lines) >= MAX_LINES:
                    raise BadUserInput(f"a cart holds at most {MAX_LINES} lines", argument="sku")
                lines.append({"sku": sku, "quantity": quantity, "added_at": utcnow()})
            else:
                lines = [{**line, "quantity": quantity} if line["sku"] == sku else line for line in lines]
            if await self._write(user_id, doc, lines):
                return await self.view(user_id)
        raise RuntimeError(f"cart of {user_id} changed too often")

    async def _write(self, user_id: str, doc: dict[str, Any] | None, lines: list[dict[str, Any]]) -> bool:
        """Write the new lines if nobody changed the cart since `doc` was read."""
        if doc is None:
            try:
                await self.carts.insert_one({"_id": user_id, "lines": lines, "rev": 1, "updated_at": utcnow()})
            except DuplicateKeyError:
                return False
            return True
        result = await self.carts.update_one(
            {"_id": user_id, "rev": doc.get("rev", 0)},
            {"$set": {"lines": lines, "updated_at": utcnow()}, "$inc": {"rev": 1}},
        )
        return bool(result.matched_count)
