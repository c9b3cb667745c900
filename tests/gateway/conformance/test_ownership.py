"""Field ownership: @shareable (the subgraph that saves a hop is picked), @override with and
without a progressive-override label (percent(0) / percent(100)) and @interfaceObject."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph


def link(*imports: str, version: str = "2.3") -> str:
    names = ", ".join(f'"{i}"' for i in imports)
    return f'extend schema @link(url: "https://specs.apollo.dev/federation/v{version}", import: [{names}])\n'


PRODUCTS = [
    {"upc": "1", "name": "Table"},
    {"upc": "2", "name": "Couch"},
]
ACCOUNTS = {
    "a1": {"__typename": "Personal", "id": "a1", "name": "Ada", "birthday": "1815-12-10"},
    "a2": {"__typename": "Business", "id": "a2", "name": "Acme Ltd", "vatId": "GB123"},
}
BALANCES = {"a1": 100, "a2": 25000}


def products() -> Subgraph:
    sdl = (
        link("@key", "@shareable")
        + """
type Query {
  topProducts: [Product!]!
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String! @shareable
  price: Int!
  discount: Int!
  tax: Int!
}
"""
    )
    legacy = {"price": -1, "discount": 5, "tax": -1}  # price/tax are overridden: never served from here
    rows = [{"__typename": "Product", **p, **legacy} for p in PRODUCTS]
    return Subgraph(
        "products",
        sdl,
        resolvers={"Query.topProducts": lambda _p, _i: rows},
        entities={"Product": lambda rep: next(r for r in rows if r["upc"] == rep["upc"])},
    )


def pricing() -> Subgraph:
    sdl = (
        link("@key", "@override", version="2.7")
        + """
type Product @key(fields: "upc") {
  upc: ID!
  price: Int! @override(from: "products")
  discount: Int! @override(from: "products", label: "percent(0)")
  tax: Int! @override(from: "products", label: "percent(100)")
}
"""
    )
    values = {"1": {"price": 899, "discount": 99, "tax": 170}, "2": {"price": 1299, "discount": 99, "tax": 246}}
    return Subgraph("pricing", sdl, entities={"Product": lambda rep: {"upc": rep["upc"], **values[rep["upc"]]}})


def reviews() -> Subgraph:
    sdl = (
        link("@key", "@shareable")
        + """
type Query {
  latestReviews: [Review!]!
}

type Review {
  body: String!
  product: Product!
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String! @shareable
}
"""
    )

    def product(upc: str) -> dict[str, Any]:
        return {"__typename": "Product", "upc": upc, "name": next(p["name"] for p in PRODUCTS if p["upc"] == upc)}

    return Subgraph(
        "reviews",
        sdl,
        resolvers={
            "Query.latestReviews": lambda _p, _i: [
                {"body": "Sturdy", "product": product("1")},
                {"body": "Comfy", "product": product("2")},
            ]
        },
        entities={"Product": lambda rep: product(rep["upc"])},
    )


def accounts() -> Subgraph:
    sdl = (
        link("@key")
        + """
type Query {
  accounts: [Account!]!
}

interface Account @key(fields: "id") {
  id: ID!
  name: String!
}

type Personal implements Account @key(fields: "id") {
  id: ID!
  name: String!
  birthday: String!
}

type Business implements Account @key(fields: "id") {
  id: ID!
  name: String!
  vatId: String!
}
"""
    )
    return Subgraph(
        "accounts",
        sdl,
        resolvers={"Query.accounts": lambda _p, _i: list(ACCOUNTS.values())},
        entities={
            "Account": lambda rep: ACCOUNTS.get(rep["id"]),
            "Personal": lambda rep: ACCOUNTS.get(rep["id"]),
            "Business": lambda rep: ACCOUNTS.get(rep["id"]),
        },
    )


def billing() -> Subgraph:
    sdl = (
        link("@key", "@interfaceObject")
        + """
type Query {
  richest: Account!
}

type Account @key(fields: "id") @interfaceObject {
  id: ID!
  balance: Int!
}
"""
    )
    return Subgraph(
        "billing",
        sdl,
        resolvers={"Query.richest": lambda _p, _i: {"__typename": "Account", "id": "a2", "balance": 25000}},
        entities={"Account": lambda rep: {"__typename": "Account", "id": rep["id"], "balance": BALANCES[rep["id"]]}},
    )


gw = scenario_gateway("ownership", lambda: [products(), pricing(), reviews(), accounts(), billing()])


class TestShareable:
    def test_shareable_field_taken_from_the_subgraph_already_visited(self, gw: GatewayClient) -> None:
        result = gw.query("{ latestReviews { body product { name } } }")
        assert result == {
            "data": {
                "latestReviews": [
                    {"body": "Sturdy", "product": {"name": "Table"}},
                    {"body": "Comfy", "product": {"name": "Couch"}},
                ]
            }
        }
        assert [r.subgraph for r in gw.log.calls()] == ["reviews"]

    def test_shareable_field_from_root_subgraph(self, gw: GatewayClient) -> None:
        assert gw.query("{ topProducts { name } }") == {"data": {"topProducts": [{"name": "Table"}, {"name": "Couch"}]}}
        assert [r.subgraph for r in gw.log.calls()] == ["products"]


class TestOverride:
    def test_overridden_field_is_served_by_the_new_owner(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts { upc price } }")
        assert result == {"data": {"topProducts": [{"upc": "1", "price": 899}, {"upc": "2", "price": 1299}]}}
        (call,) = gw.log.entity_calls("pricing")
        assert sorted(r["upc"] for r in call.representations) == ["1", "2"]

    def test_progressive_override_at_zero_percent_stays_with_the_old_owner(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts { upc discount } }")
        assert result == {"data": {"topProducts": [{"upc": "1", "discount": 5}, {"upc": "2", "discount": 5}]}}
        assert gw.log.entity_calls("pricing") == []

    def test_progressive_override_at_hundred_percent_moves_to_the_new_owner(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts { upc tax } }")
        assert result == {"data": {"topProducts": [{"upc": "1", "tax": 170}, {"upc": "2", "tax": 246}]}}
        assert len(gw.log.entity_calls("pricing")) == 1


class TestInterfaceObject:
    def test_interface_object_field_on_interface_entities(self, gw: GatewayClient) -> None:
        result = gw.query("{ accounts { __typename name balance } }")
        assert result == {
            "data": {
                "accounts": [
                    {"__typename": "Personal", "name": "Ada", "balance": 100},
                    {"__typename": "Business", "name": "Acme Ltd", "balance": 25000},
                ]
            }
        }
        (call,) = gw.log.entity_calls("billing")
        assert sorted(call.representations, key=lambda r: r["id"]) == [
            {"__typename": "Account", "id": "a1"},
            {"__typename": "Account", "id": "a2"},
        ]

    def test_interface_object_root_resolves_concrete_type(self, gw: GatewayClient) -> None:
        result = gw.query(
            "{ richest { __typename balance name ... on Business { vatId } ... on Personal { birthday } } }"
        )
        assert result == {
            "data": {"richest": {"__typename": "Business", "balance": 25000, "name": "Acme Ltd", "vatId": "GB123"}}
        }
        (call,) = gw.log.entity_calls("accounts")
        assert call.representations == [{"__typename": "Account", "id": "a2"}]

    def test_type_condition_on_interface_object_field(self, gw: GatewayClient) -> None:
        result = gw.query("{ accounts { ... on Personal { name balance } } }")
        assert result == {"data": {"accounts": [{"name": "Ada", "balance": 100}, {}]}}
