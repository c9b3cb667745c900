"""Fixtures for the orders tests: a products service over HTTP and orders apps on a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from subgraphs.kit.settings import Settings
from subgraphs.orders.app import create_app
from subgraphs.orders.config import OrdersConfig
from subgraphs.orders.services import OrdersServices
from tests.orders.fake_products import FakeProductsApp, ProductsState
from tests.orders.real_products import RealProducts
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi
from tests.support.tokens import bearer


@pytest.fixture
def products_state() -> ProductsState:
    state = ProductsState()
    state.add("TEE-M", price=1999, stock=20)
    state.add("MUG-1", price=850, stock=5)
    state.add("CAP-L", price=1500, stock=3)
    return state


@pytest.fixture
async def products_url(products_state: ProductsState) -> AsyncIterator[str]:
    async with serve_asgi(FakeProductsApp(products_state)) as base:
        yield f"{base}/graphql"


@dataclass
class OrdersInstance:
    app: Starlette
    base: str
    client: httpx.AsyncClient

    @property
    def services(self) -> OrdersServices:
        services: OrdersServices = self.app.state.orders
        return services

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/graphql"

    async def gql(self, query: str, variables: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                          headers=headers or {})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


OrdersFactory = Callable[..., Any]


@pytest.fixture
def shared_mongo(mongo: TestMongo) -> Any:
    """The orders database every orders instance of the test shares (with the real products' own)."""
    if not mongo.real:
        pytest.skip("several service instances share a database only on a real MongoDB server")
    return mongo.database("orders")


@pytest.fixture
def orders_factory(redis_url: str, products_url: str, shared_mongo: Any, mongo: TestMongo) -> OrdersFactory:
    @asynccontextmanager
    async def start(*, hold_ttl: float = 900, products: str | None = None, block_ms: int = 300,
                    run_worker: bool = True, products_transport: httpx.AsyncBaseTransport | None = None
                    ) -> AsyncIterator[OrdersInstance]:
        settings = Settings.from_env("orders", env={
            "REDIS_URL": redis_url, **mongo.env("orders"), "RUN_WORKER_IN_PROCESS": "1" if run_worker else "0"})
        config = OrdersConfig(products_url=products or products_url, hold_ttl=timedelta(seconds=hold_ttl),
                              subscription_block_ms=block_ms)
        app = create_app(settings, config, products_transport=products_transport)
        async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield OrdersInstance(app=app, base=base, client=client)

    return start


@pytest.fixture
async def orders(orders_factory: OrdersFactory) -> AsyncIterator[OrdersInstance]:
    async with orders_factory() as instance:
        yield instance


@pytest.fixture
async def real_products(redis_url: str, shared_mongo: Any, mongo: TestMongo) -> AsyncIterator[RealProducts]:
    """The real products service (its own database on the shared server), without demo data."""
    products_app = pytest.importorskip("subgraphs.products.app")
    products_config = pytest.importorskip("subgraphs.products.config")
    settings = Settings.from_env("products", env={"REDIS_URL": redis_url, **mongo.env("products")})
    app = products_app.create_app(settings, products_config.ProductsConfig(seed_demo=False))
    async with serve_asgi(app) as base, httpx.AsyncClient(timeout=30) as client:
        yield RealProducts(base, client)


@pytest.fixture
async def orders_with_real_products(orders_factory: OrdersFactory, real_products: RealProducts
                                    ) -> AsyncIterator[OrdersInstance]:
    async with orders_factory(products=real_products.url) as instance:
        yield instance


ALICE = bearer("alice", email="alice@example.com")
BOB = bearer("bob", email="bob@example.com")
ADMIN = bearer("ops", "orders:admin")
