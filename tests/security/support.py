"""A small store subgraph and gateways over it on real loopback servers, for the edge tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from gateway.auth import make_dev_token
from gateway.composition import SubgraphSource, compose
from gateway.config import DEFAULT_JWT_SECRET
from gateway.http1 import IMPORT_STRING as GATEWAY_HTTP
from tests.gateway.core.harness import RunningServer, gateway_app, subgraph_app

STORE_SDL = """
type Query { product(id: ID!): Product  products: [Product!]! }
type Mutation {
  placeOrder(sku: String!): String
  addToCart(sku: String!): Int
  refundPayment(id: ID!): Boolean
  login(name: String!): String
}
type Product @key(fields: "id") { id: ID! name: String }
"""
_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
PRODUCTS = {"p1": {"id": "p1", "name": "Kettle"}, "p2": {"id": "p2", "name": "Teapot"}}
QUERY = "{ products { id name } }"


def store_app(log: list[dict[str, Any]]) -> Any:
    return subgraph_app(
        STORE_SDL.replace('@key(fields: "id")', ""),
        resolvers={
            "Query.products": lambda _p: list(PRODUCTS.values()),
            "Query.product": lambda _p, id: PRODUCTS.get(id),
            "Mutation.placeOrder": lambda _p, sku: f"order-for-{sku}",
            "Mutation.addToCart": lambda _p, sku: 1,
            "Mutation.refundPayment": lambda _p, id: True,
            "Mutation.login": lambda _p, name: name,
        },
        log=log,
    )


@dataclass
class Store:
    """The store subgraph, its request log, and the supergraph that routes to it."""

    server: RunningServer
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def supergraph(self) -> str:
        return compose([SubgraphSource("store", self.server.url + "/graphql", _LINK + STORE_SDL)])


@contextmanager
def store() -> Iterator[Store]:
    log: list[dict[str, Any]] = []
    server = RunningServer(store_app(log)).start()
    try:
        yield Store(server, log)
    finally:
        server.stop()


class GatewayServer(RunningServer):
    """A gateway served as `python -m gateway serve` does: uvicorn's own proxy-header rewriting off,
    so the client address is the TCP peer and only the gateway's TRUSTED_PROXIES decide."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        config = uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False, proxy_headers=False,
                                http=GATEWAY_HTTP)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)


@contextmanager
def gateways(shop: Store, count: int = 1, **settings: Any) -> Iterator[list[RunningServer]]:
    """`count` gateway instances (real uvicorn servers on free ports) with the same settings."""
    with ExitStack() as stack:
        servers = []
        for _ in range(count):
            server = GatewayServer(gateway_app(shop.supergraph, {}, **settings)).start()
            stack.callback(server.stop)
            servers.append(server)
        yield servers


# What production needs besides APP_ENV (gateway.config refuses development defaults there).
PRODUCTION: dict[str, Any] = {
    "app_env": "production",
    "jwt_secret": "edge-tests-production-secret-0123456789abcdef",
    "jwt_issuer": "https://issuer.example",
    "jwt_audience": "shop",
    "subgraph_shared_secret": "edge-tests-subgraph-secret-0123456789",
}
PRODUCTION_ENV = {
    "APP_ENV": "production",
    "JWT_SECRET": PRODUCTION["jwt_secret"],
    "JWT_ISSUER": PRODUCTION["jwt_issuer"],
    "JWT_AUDIENCE": PRODUCTION["jwt_audience"],
    "SUBGRAPH_SHARED_SECRET": PRODUCTION["subgraph_shared_secret"],
}


def prefix() -> str:
    """A private Redis key prefix for one test."""
    return f"test:{uuid.uuid4().hex}:"


def token(subject: str, secret: str = DEFAULT_JWT_SECRET) -> str:
    return make_dev_token(subject, ["shop"], 600, secret)


def post(url: str, query: str = QUERY, *, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    return httpx.post(url + "/graphql", json={"query": query, **body}, headers=headers or {}, timeout=10)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])
