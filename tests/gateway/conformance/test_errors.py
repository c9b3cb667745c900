"""Errors: subgraph errors keep their message and get paths in the client's shape (also inside
_entities results), null propagation by the API schema's nullability, and subgraphs that are
down, slow (SUBGRAPH_TIMEOUT_SECONDS=1) or answer garbage."""

from __future__ import annotations

import time
from typing import Any

from graphql import GraphQLError

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
TIMEOUT = 1.0
SLOW_DELAY = 5.0

PRODUCTS = {
    "1": {"__typename": "Product", "upc": "1", "name": "Table", "price": 899},
    "2": {"__typename": "Product", "upc": "2", "name": "Couch", "price": None},
    "3": {"__typename": "Product", "upc": "3", "name": "Chair", "price": 54},
}


def _raise(message: str, code: str) -> Any:
    raise GraphQLError(message, extensions={"code": code})


def products() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  topProducts: [Product!]
  product(upc: ID!): Product
  shopName: String!
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String!
  price: Int
}
"""
    )

    def product(_p: Any, _i: Any, upc: str) -> Any:
        return _raise(f"product {upc} is broken", "BROKEN") if upc == "bad" else PRODUCTS.get(upc)

    return Subgraph(
        "products",
        sdl,
        resolvers={
            "Query.topProducts": lambda _p, _i: list(PRODUCTS.values()),
            "Query.product": product,
            "Query.shopName": lambda _p, _i: "Supershop",
        },
        entities={"Product": lambda rep: PRODUCTS.get(rep["upc"])},
    )


def reviews() -> Subgraph:
    sdl = (
        LINK
        + """
type Review {
  body: String!
}

type Product @key(fields: "upc") {
  upc: ID!
  reviews: [Review!]
}
"""
    )

    def product_reviews(parent: dict[str, Any], _info: Any) -> Any:
        if parent["upc"] == "2":
            return _raise("reviews for 2 unavailable", "REVIEWS_DOWN")
        return [{"body": f"review of {parent['upc']}"}]

    return Subgraph("reviews", sdl, resolvers={"Product.reviews": product_reviews}, entities={"Product": dict})


def ratings() -> Subgraph:
    sdl = (
        LINK
        + """
type Product @key(fields: "upc") {
  upc: ID!
  rating: Int!
}
"""
    )

    def rating(parent: dict[str, Any], _info: Any) -> Any:
        return _raise("rating service exploded", "RATING") if parent["upc"] == "3" else int(parent["upc"]) + 3

    return Subgraph("ratings", sdl, resolvers={"Product.rating": rating}, entities={"Product": dict})


def failing(name: str, field: str, **behaviour: Any) -> Subgraph:
    sdl = (
        LINK
        + f"""
type Query {{
  {name}Status: String
}}

type Product @key(fields: "upc") {{
  upc: ID!
  {field}: String
}}
"""
    )
    return Subgraph(
        name,
        sdl,
        resolvers={f"Query.{name}Status": lambda _p, _i: "ok"},
        entities={"Product": lambda rep: {"upc": rep["upc"], field: "fresh"}},
        **behaviour,
    )


gw = scenario_gateway(
    "errors",
    lambda: [
        products(),
        reviews(),
        ratings(),
        failing("inventory", "stockLevel", down=True),
        failing("shipping", "shippingEstimate", delay=SLOW_DELAY),
        failing("legacy", "legacyCode", garbage=True),
    ],
    env={"SUBGRAPH_TIMEOUT_SECONDS": str(TIMEOUT)},
)


def paths(result: dict[str, Any]) -> list[list[str | int]]:
    return sorted((e.get("path") for e in result.get("errors", [])), key=str)


def error_by_path(result: dict[str, Any], path: list[str | int]) -> dict[str, Any]:
    matches = [e for e in result.get("errors", []) if e.get("path") == path]
    assert len(matches) == 1, result
    return matches[0]


class TestSubgraphErrors:
    def test_root_field_error_keeps_message_and_path(self, gw: GatewayClient) -> None:
        result = gw.query('{ shopName product(upc: "bad") { name } }')
        assert result["data"] == {"shopName": "Supershop", "product": None}
        assert paths(result) == [["product"]]
        assert result["errors"][0]["message"] == "product bad is broken"

    def test_root_field_error_keeps_extensions_code(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(upc: "bad") { name } }')
        assert result["errors"][0]["extensions"]["code"] == "BROKEN"

    def test_error_inside_entities_is_mapped_to_the_client_path(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts { upc reviews { body } } }")
        assert result["data"] == {
            "topProducts": [
                {"upc": "1", "reviews": [{"body": "review of 1"}]},
                {"upc": "2", "reviews": None},
                {"upc": "3", "reviews": [{"body": "review of 3"}]},
            ]
        }
        assert paths(result) == [["topProducts", 1, "reviews"]]
        assert result["errors"][0]["message"] == "reviews for 2 unavailable"

    def test_entity_error_on_nullable_parent_nulls_the_parent(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(upc: "3") { name rating } }')
        assert result["data"] == {"product": None}
        assert error_by_path(result, ["product", "rating"])["message"] == "rating service exploded"

    def test_non_null_error_bubbles_to_the_nearest_nullable_ancestor(self, gw: GatewayClient) -> None:
        # rating: Int! fails for product 3; topProducts is [Product!], so the whole list is nulled,
        # sibling root fields are untouched.
        result = gw.query("{ shopName topProducts { upc rating } }")
        assert result["data"] == {"shopName": "Supershop", "topProducts": None}
        assert error_by_path(result, ["topProducts", 2, "rating"])["message"] == "rating service exploded"

    def test_successful_non_null_entity_fields(self, gw: GatewayClient) -> None:
        result = gw.query('{ a: product(upc: "1") { rating } b: product(upc: "2") { price rating } }')
        assert result == {"data": {"a": {"rating": 4}, "b": {"price": None, "rating": 5}}}


class TestUnavailableSubgraphs:
    def _assert_partial(self, result: dict[str, Any], field: str) -> None:
        assert result["data"] == {
            "topProducts": [
                {"name": "Table", field: None},
                {"name": "Couch", field: None},
                {"name": "Chair", field: None},
            ]
        }
        assert result["errors"], result
        for error in result["errors"]:
            assert isinstance(error["message"], str) and error["message"]
            if error.get("path"):
                assert error["path"][0] == "topProducts", error

    def test_down_subgraph_entity_fetch(self, gw: GatewayClient) -> None:
        self._assert_partial(gw.query("{ topProducts { name stockLevel } }"), "stockLevel")

    def test_down_subgraph_root_fetch(self, gw: GatewayClient) -> None:
        result = gw.query("{ inventoryStatus shopName }")
        assert result["data"] == {"inventoryStatus": None, "shopName": "Supershop"}
        assert result["errors"]

    def test_slow_subgraph_times_out(self, gw: GatewayClient) -> None:
        started = time.monotonic()
        result = gw.query("{ topProducts { name shippingEstimate } }")
        elapsed = time.monotonic() - started
        self._assert_partial(result, "shippingEstimate")
        assert elapsed < SLOW_DELAY - 1.5, f"gateway waited {elapsed:.1f}s for a subgraph with a {TIMEOUT}s timeout"

    def test_garbage_answering_subgraph(self, gw: GatewayClient) -> None:
        self._assert_partial(gw.query("{ topProducts { name legacyCode } }"), "legacyCode")

    def test_garbage_root_fetch(self, gw: GatewayClient) -> None:
        result = gw.query("{ legacyStatus shopName }")
        assert result["data"] == {"legacyStatus": None, "shopName": "Supershop"}
        assert result["errors"]

    def test_healthy_parts_still_answer(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts { name stockLevel legacyCode reviews { body } } }")
        data = result["data"]["topProducts"]
        assert [p["name"] for p in data] == ["Table", "Couch", "Chair"]
        assert [p["stockLevel"] for p in data] == [None, None, None]
        assert [p["legacyCode"] for p in data] == [None, None, None]
        assert [p["reviews"] for p in data] == [[{"body": "review of 1"}], None, [{"body": "review of 3"}]]
        assert ["topProducts", 1, "reviews"] in paths(result)
