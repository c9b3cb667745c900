"""A Federation 1 supergraph: subgraphs without @link, ``extend type`` and @external key fields."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

PRODUCTS = {
    "1": {"__typename": "Product", "upc": "1", "name": "Table", "price": 899, "weight": 30},
    "2": {"__typename": "Product", "upc": "2", "name": "Couch", "price": 1299, "weight": 60},
}
USERS = {
    "1": {"__typename": "User", "id": "1", "name": "Ada Lovelace", "username": "@ada"},
    "2": {"__typename": "User", "id": "2", "name": "Alan Turing", "username": "@alan"},
}
REVIEWS = [
    {"id": "r1", "body": "Love it!", "author": "1", "product": "1"},
    {"id": "r2", "body": "Too expensive.", "author": "2", "product": "1"},
    {"id": "r3", "body": "Could be better.", "author": "1", "product": "2"},
]


def products() -> Subgraph:
    sdl = """
extend type Query {
  topProducts(first: Int = 5): [Product]
}

type Product @key(fields: "upc") {
  upc: String!
  name: String
  price: Int
  weight: Int
}
"""
    return Subgraph(
        "products",
        sdl,
        resolvers={"Query.topProducts": lambda _p, _i, first=5: list(PRODUCTS.values())[:first]},
        entities={"Product": lambda rep: PRODUCTS.get(rep["upc"])},
    )


def accounts() -> Subgraph:
    sdl = """
extend type Query {
  me: User
}

type User @key(fields: "id") {
  id: ID!
  name: String
  username: String
}
"""
    return Subgraph(
        "accounts",
        sdl,
        resolvers={"Query.me": lambda _p, _i: USERS["1"]},
        entities={"User": lambda rep: USERS.get(rep["id"])},
    )


def reviews() -> Subgraph:
    sdl = """
type Review @key(fields: "id") {
  id: ID!
  body: String
  author: User @provides(fields: "username")
  product: Product
}

extend type User @key(fields: "id") {
  id: ID! @external
  username: String @external
  reviews: [Review]
}

extend type Product @key(fields: "upc") {
  upc: String! @external
  weight: Int @external
  reviews: [Review]
  shippingEstimate: Int @requires(fields: "weight")
}
"""

    def review(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "__typename": "Review",
            "id": r["id"],
            "body": r["body"],
            "author": {"__typename": "User", "id": r["author"], "username": USERS[r["author"]]["username"]},
            "product": {"__typename": "Product", "upc": r["product"]},
        }

    return Subgraph(
        "reviews",
        sdl,
        resolvers={"Product.shippingEstimate": lambda parent, _i: parent["weight"] // 10},
        entities={
            "User": lambda rep: {**rep, "reviews": [review(r) for r in REVIEWS if r["author"] == rep["id"]]},
            "Product": lambda rep: {**rep, "reviews": [review(r) for r in REVIEWS if r["product"] == rep["upc"]]},
            "Review": lambda rep: next(review(r) for r in REVIEWS if r["id"] == rep["id"]),
        },
    )


gw = scenario_gateway("federation1", lambda: [products(), accounts(), reviews()])


class TestFederation1:
    def test_extended_entity_fields_and_provides(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts { name reviews { body author { username } } } }")
        assert result == {
            "data": {
                "topProducts": [
                    {
                        "name": "Table",
                        "reviews": [
                            {"body": "Love it!", "author": {"username": "@ada"}},
                            {"body": "Too expensive.", "author": {"username": "@alan"}},
                        ],
                    },
                    {"name": "Couch", "reviews": [{"body": "Could be better.", "author": {"username": "@ada"}}]},
                ]
            }
        }
        assert gw.log.calls("accounts") == []

    def test_requires_on_extended_type(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts(first: 2) { upc shippingEstimate } }")
        assert result == {
            "data": {"topProducts": [{"upc": "1", "shippingEstimate": 3}, {"upc": "2", "shippingEstimate": 6}]}
        }
        (call,) = gw.log.entity_calls("reviews")
        assert sorted(call.representations, key=lambda r: r["upc"]) == [
            {"__typename": "Product", "upc": "1", "weight": 30},
            {"__typename": "Product", "upc": "2", "weight": 60},
        ]

    def test_round_trip_through_three_subgraphs(self, gw: GatewayClient) -> None:
        result = gw.query("{ me { name reviews { product { name price } author { name } } } }")
        assert result == {
            "data": {
                "me": {
                    "name": "Ada Lovelace",
                    "reviews": [
                        {"product": {"name": "Table", "price": 899}, "author": {"name": "Ada Lovelace"}},
                        {"product": {"name": "Couch", "price": 1299}, "author": {"name": "Ada Lovelace"}},
                    ],
                }
            }
        }
