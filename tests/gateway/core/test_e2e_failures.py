"""Subgraph failures: down, HTTP 5xx, garbage, slow, field errors in entity fetches, null bubbling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from . import shop
from .harness import RunningServer, free_port, gateway_app, raw_app, serve, subgraph_app


def _flaky_inventory() -> Any:
    def in_stock(parent: dict[str, Any]) -> bool:
        if parent["upc"] == "2":
            raise ValueError("inventory lookup failed for 2")
        return shop.IN_STOCK[parent["upc"]]

    return subgraph_app(
        """
        type Query { _dummy: Int }
        type Product { upc: String! price: Int weight: Int inStock: Boolean shippingEstimate: Int }
        """,
        resolvers={"Product.inStock": in_stock},
        entities={"Product": lambda rep: {"upc": rep["upc"]}},
    )


def _reviews_with_null_body() -> Any:
    reviews = [
        {"__typename": "Review", "id": "1", "body": "fine", "author": None, "product": None},
        {"__typename": "Review", "id": "2", "body": None, "author": None, "product": None},
    ]
    return subgraph_app(
        """
        type Query { _dummy: Int }
        type Review { id: ID! body: String author: User product: Product }
        type User { id: ID! username: String reviews: [Review] }
        type Product { upc: String! reviews: [Review] }
        """,
        entities={
            "User": lambda rep: {"id": rep["id"], "reviews": reviews},
            "Product": lambda rep: {"upc": rep["upc"], "reviews": reviews},
        },
    )


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, RunningServer]]:
    started = {
        "products": RunningServer(shop.products()).start(),
        "products_500": RunningServer(raw_app(500, b"<html>boom</html>", content_type=b"text/html")).start(),
        "products_garbage": RunningServer(raw_app(200, b"not json at all")).start(),
        "inventory_slow": RunningServer(raw_app(200, b'{"data": {}}', delay=2.0)).start(),
        "inventory_flaky": RunningServer(_flaky_inventory()).start(),
        "reviews_nulls": RunningServer(_reviews_with_null_body()).start(),
        "accounts": RunningServer(shop.accounts()).start(),
    }
    try:
        yield started
    finally:
        for server in started.values():
            server.stop()


def _query(app: Any, query: str) -> httpx.Response:
    with serve(app) as gw, httpx.Client(base_url=gw.url, timeout=10) as client:
        return client.post("/graphql", json={"query": query})


def test_subgraph_down_gives_partial_data(servers: dict[str, RunningServer]) -> None:
    app = gateway_app(
        shop.SUPERGRAPH,
        {"accounts": f"http://127.0.0.1:{free_port()}/graphql", "products": servers["products"].url},
    )
    r = _query(app, '{ me { id } product(upc: "1") { name } }')
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"me": None, "product": {"name": "Table"}}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SUBREQUEST_HTTP_ERROR"]
    assert body["errors"][0]["extensions"]["service"] == "accounts"


@pytest.mark.parametrize("which", ["products_500", "products_garbage"])
def test_http_error_and_garbage(servers: dict[str, RunningServer], which: str) -> None:
    app = gateway_app(shop.SUPERGRAPH, {"products": servers[which].url, "accounts": servers["accounts"].url})
    r = _query(app, "{ topProducts { upc } me { name } }")
    body = r.json()
    assert body["data"] == {"topProducts": None, "me": {"name": "Ada Lovelace"}}
    assert body["errors"][0]["extensions"]["code"] == "SUBREQUEST_HTTP_ERROR"


def test_slow_subgraph_times_out(servers: dict[str, RunningServer]) -> None:
    app = gateway_app(
        shop.SUPERGRAPH,
        {"products": servers["products"].url, "inventory": servers["inventory_slow"].url},
        subgraph_timeout_seconds=0.3,
    )
    r = _query(app, "{ topProducts(first: 1) { upc inStock } }")
    body = r.json()
    assert body["data"] == {"topProducts": [{"upc": "1", "inStock": None}]}
    assert body["errors"][0]["extensions"]["code"] == "SUBREQUEST_TIMEOUT"


def test_entity_error_paths_are_rewritten(servers: dict[str, RunningServer]) -> None:
    app = gateway_app(
        shop.SUPERGRAPH,
        {"products": servers["products"].url, "inventory": servers["inventory_flaky"].url},
    )
    r = _query(app, "{ topProducts { name inStock } }")
    body = r.json()
    assert body["data"] == {
        "topProducts": [
            {"name": "Table", "inStock": True},
            {"name": "Couch", "inStock": None},
            {"name": "Chair", "inStock": True},
        ]
    }
    assert body["errors"] == [
        {
            "message": "inventory lookup failed for 2",
            "path": ["topProducts", 1, "inStock"],
            "extensions": {"service": "inventory"},
        }
    ]


def test_non_null_violation_bubbles_to_nullable_parent(servers: dict[str, RunningServer]) -> None:
    app = gateway_app(
        shop.SUPERGRAPH,
        {"accounts": servers["accounts"].url, "reviews": servers["reviews_nulls"].url},
    )
    r = _query(app, "{ me { name reviews { id body } } }")
    body = r.json()
    assert body["data"] == {"me": {"name": "Ada Lovelace", "reviews": [{"id": "1", "body": "fine"}, None]}}
    assert body["errors"][0]["path"] == ["me", "reviews", 1, "body"]
