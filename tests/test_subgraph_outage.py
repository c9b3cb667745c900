"""One subgraph down must not take the parents of the fields it contributes down with it: the four
real services and the gateway on loopback ports, then one service stopped (see docs/architecture.md,
"Nullability across subgraphs")."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, build_schema

from gateway.composition import SubgraphSource, compose
from gateway.config import Settings as GatewaySettings
from gateway.server import create_app as gateway_app
from subgraphs.kit.embedded_redis import free_port
from subgraphs.kit.settings import Settings
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi
from tests.support.tokens import bearer

SERVICES = ["products", "orders", "payments", "notifications"]
# Fields a subgraph contributes to an entity other subgraphs serve, and references to an entity whose
# other fields come from another subgraph: all nullable, so an outage nulls only them.
CONTRIBUTED = {
    "User.cart", "User.orders", "User.payments", "User.notifications", "User.notificationPreferences",
    "Order.payments", "Order.amountDue", "Order.notifications", "Payment.order", "OrderLine.product",
}
ME = """{ me { id cart { totalQuantity } orders(first: 5) { totalCount } payments { id }
  notifications(first: 5) { totalCount } notificationPreferences { email } } }"""


def sdl_of(name: str) -> str:
    schema = importlib.import_module(f"subgraphs.{name}.schema").build_schema()
    return str(schema.execute_sync("{ _service { sdl } }").data["_service"]["sdl"])


@dataclass
class Shop:
    gateway_url: str
    http: httpx.AsyncClient
    services: dict[str, AsyncExitStack] = field(default_factory=dict)

    async def stop(self, name: str) -> None:
        await self.services.pop(name).aclose()

    async def query(self, query: str, user: str = "alice") -> dict[str, Any]:
        response = await self.http.post(self.gateway_url, json={"query": query}, headers=bearer(user))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def shop(redis_url: str, mongo: TestMongo) -> AsyncIterator[Shop]:
    ports = {name: free_port() for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
    peers = {f"{name.upper()}_URL": url for name, url in urls.items()}
    async with AsyncExitStack() as outer:
        http = await outer.enter_async_context(httpx.AsyncClient(timeout=15))
        services: dict[str, AsyncExitStack] = {}
        for name in SERVICES:
            env = {"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "PRODUCTS_SEED_DEMO": "0", **peers,
                   **mongo.env(name)}
            app = importlib.import_module(f"subgraphs.{name}.app").create_app(Settings.from_env(name, env=env))
            stack = AsyncExitStack()
            await stack.enter_async_context(serve_asgi(app, ports[name]))
            services[name] = stack
        try:
            supergraph = compose([SubgraphSource(name, urls[name], sdl_of(name)) for name in SERVICES])
            gateway = gateway_app(GatewaySettings(supergraph_sdl=supergraph, subgraph_timeout_seconds=5))
            base = await outer.enter_async_context(serve_asgi(gateway))
            yield Shop(f"{base}/graphql", http, services)
        finally:
            for stack in reversed(list(services.values())):
                await stack.aclose()


def test_contributed_fields_are_nullable_in_the_supergraph() -> None:
    supergraph = build_schema(compose([SubgraphSource(n, f"http://{n}", sdl_of(n)) for n in SERVICES]))
    for path in sorted(CONTRIBUTED):
        type_name, field_name = path.split(".")
        type_ = supergraph.get_type(type_name)
        assert isinstance(type_, GraphQLObjectType), path
        assert not isinstance(type_.fields[field_name].type, GraphQLNonNull), f"{path} must be nullable"


async def test_the_viewer_survives_a_notifications_outage(shop: Shop) -> None:
    healthy = await shop.query(ME)
    assert "errors" not in healthy, healthy
    assert healthy["data"]["me"]["notifications"] == {"totalCount": 0}

    await shop.stop("notifications")
    result = await shop.query(ME)
    me = result["data"]["me"]
    assert me is not None, result
    assert me["id"] == "alice"
    assert me["cart"] == {"totalQuantity": 0} and me["orders"] == {"totalCount": 0} and me["payments"] == []
    assert me["notifications"] is None and me["notificationPreferences"] is None
    paths = sorted(error.get("path") for error in result["errors"])
    assert paths == [["me", "notificationPreferences"], ["me", "notifications"]], result["errors"]


async def test_the_viewer_survives_an_orders_and_payments_outage(shop: Shop) -> None:
    await shop.stop("orders")
    await shop.stop("payments")
    result = await shop.query(ME)
    me = result["data"]["me"]
    assert me is not None, result
    assert me["id"] == "alice" and me["orders"] is None and me["payments"] is None
    assert me["cart"] == {"totalQuantity": 0} and me["notifications"] == {"totalCount": 0}
    assert sorted(error["path"] for error in result["errors"]) == [["me", "orders"], ["me", "payments"]]
    assert {error["extensions"]["service"] for error in result["errors"]} == {"orders", "payments"}


async def test_me_is_served_by_products_alone(shop: Shop) -> None:
    """`me` only echoes the token, so it lives in one subgraph: the gateway has no fallback between
    subgraphs for a root field, and with `me` in every subgraph it picked notifications for
    `me { notifications }`, whose outage then took `me` down."""
    await shop.stop("products")
    result = await shop.query("{ me { id notifications(first: 1) { totalCount } } }")
    assert result["data"] == {"me": None}
    assert [error["extensions"]["service"] for error in result["errors"]] == ["products"]
