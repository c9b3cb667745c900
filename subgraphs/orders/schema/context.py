"""The request context of orders: the kit's context plus the service's collaborators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from subgraphs.kit.auth import Viewer
from subgraphs.kit.context import RequestContext
from subgraphs.kit.errors import Forbidden
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.orders.services import OrdersServices
from subgraphs.orders.store import Document

ADMIN_SCOPE = "orders:admin"


@dataclass
class OrdersContext(RequestContext):
    services: OrdersServices | None = None

    @property
    def orders(self) -> OrdersServices:
        if self.services is None:
            raise RuntimeError("the orders services are not wired into the context")
        return self.services

    def order_loader(self) -> DataLoader[str, Document | None]:
        store = self.orders.store

        async def load(ids: list[str]) -> list[Document | None]:
            found = await store.get_many(list(ids))
            return [found.get(order_id) for order_id in ids]

        # A WebSocket context lives as long as the connection: it must not cache documents.
        cache = not isinstance(self.request, WebSocket)
        loader: DataLoader[str, Document | None] = self.loader("orders", lambda: DataLoader(load_fn=load, cache=cache))
        return loader

    def is_admin(self, viewer: Viewer) -> bool:
        return viewer.has_scope(ADMIN_SCOPE)

    def require_order_access(self, order: Document) -> Viewer:
        """The order's customer, an orders admin, or another service may read it."""
        viewer = self.require_viewer()
        if viewer.user_id == order["user_id"] or self.is_admin(viewer) or viewer.is_service:
            return viewer
        raise Forbidden("this order belongs to another customer")


Info = strawberry.Info[OrdersContext, None]


def context_factory(services: OrdersServices) -> Any:
    def build(runtime: ServiceRuntime, request: Request | WebSocket,
              response: Response | WebSocket | None) -> OrdersContext:
        return OrdersContext(runtime=runtime, request=request, response=response, services=services)

    return build
