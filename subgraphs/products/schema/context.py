"""The per-request context: the kit's, plus the products service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import strawberry

from subgraphs.kit.context import RequestContext
from subgraphs.products.service import ProductsService

CATALOG_WRITE = "catalog:write"
INVENTORY_WRITE = "inventory:write"


@dataclass
class ProductsContext(RequestContext):
    service: ProductsService | None = None

    @property
    def products(self) -> ProductsService:
        if self.service is None:
            raise RuntimeError("the request context has no products service")
        return self.service


Info: TypeAlias = strawberry.Info[ProductsContext, None]
