"""Interfaces and unions spread over subgraphs, type conditions on abstract types, __typename."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'

ITEMS: dict[str, dict[str, Any]] = {
    "p1": {"__typename": "Product", "id": "p1", "name": "Table", "price": 899},
    "p2": {"__typename": "Product", "id": "p2", "name": "Lamp", "price": 20},
    "g1": {"__typename": "Gift", "id": "g1", "name": "Voucher", "message": "Happy birthday"},
}
USERS: dict[str, dict[str, Any]] = {"u1": {"__typename": "User", "id": "u1", "name": "Ada Lovelace"}}


def ref(key: str) -> dict[str, Any]:
    row = ITEMS.get(key) or USERS[key]
    return {"__typename": row["__typename"], "id": row["id"]}


def search() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  search(term: String!): [SearchResult!]!
  catalog: [Item!]!
}

union SearchResult = Product | User

interface Item {
  id: ID!
}

type Product implements Item @key(fields: "id") {
  id: ID!
}

type Gift implements Item @key(fields: "id") {
  id: ID!
}

type User @key(fields: "id") {
  id: ID!
}
"""
    )
    return Subgraph(
        "search",
        sdl,
        resolvers={
            "Query.search": lambda _p, _i, term: [ref(k) for k in ("p1", "u1", "p2") if term in "p1u1p2"],
            "Query.catalog": lambda _p, _i: [ref("p2"), ref("g1"), ref("p1")],
        },
    )


def products() -> Subgraph:
    sdl = (
        LINK
        + """
interface Item {
  id: ID!
  name: String!
}

type Product implements Item @key(fields: "id") {
  id: ID!
  name: String!
  price: Int!
}

type Gift implements Item @key(fields: "id") {
  id: ID!
  name: String!
  message: String!
}
"""
    )
    return Subgraph(
        "products", sdl, entities={"Product": lambda rep: ITEMS[rep["id"]], "Gift": lambda rep: ITEMS[rep["id"]]}
    )


def accounts() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  me: User
}

type User @key(fields: "id") {
  id: ID!
  name: String!
}
"""
    )
    return Subgraph(
        "accounts",
        sdl,
        resolvers={"Query.me": lambda _p, _i: USERS["u1"]},
        entities={"User": lambda rep: USERS[rep["id"]]},
    )


gw = scenario_gateway("abstract", lambda: [search(), products(), accounts()])


def typenames(record: Any) -> list[tuple[str, str]]:
    return sorted((r["__typename"], r["id"]) for r in record.representations)


class TestUnions:
    def test_union_members_resolved_from_their_subgraphs(self, gw: GatewayClient) -> None:
        result = gw.query('{ search(term: "1") { __typename ... on Product { name price } ... on User { name } } }')
        assert result == {
            "data": {
                "search": [
                    {"__typename": "Product", "name": "Table", "price": 899},
                    {"__typename": "User", "name": "Ada Lovelace"},
                    {"__typename": "Product", "name": "Lamp", "price": 20},
                ]
            }
        }
        (products_call,) = gw.log.entity_calls("products")
        assert typenames(products_call) == [("Product", "p1"), ("Product", "p2")]
        (accounts_call,) = gw.log.entity_calls("accounts")
        assert typenames(accounts_call) == [("User", "u1")]

    def test_only_selected_members_are_fetched(self, gw: GatewayClient) -> None:
        result = gw.query('{ search(term: "1") { ... on User { name } } }')
        assert result == {"data": {"search": [{}, {"name": "Ada Lovelace"}, {}]}}
        assert gw.log.entity_calls("products") == []

    def test_interface_fragment_inside_a_union(self, gw: GatewayClient) -> None:
        result = gw.query('{ search(term: "1") { __typename ... on Item { id } } }')
        assert result == {
            "data": {
                "search": [
                    {"__typename": "Product", "id": "p1"},
                    {"__typename": "User"},
                    {"__typename": "Product", "id": "p2"},
                ]
            }
        }
        assert [r.subgraph for r in gw.log.calls()] == ["search"]


class TestInterfaces:
    def test_interface_field_defined_in_another_subgraph(self, gw: GatewayClient) -> None:
        result = gw.query("{ catalog { __typename id name } }")
        assert result == {
            "data": {
                "catalog": [
                    {"__typename": "Product", "id": "p2", "name": "Lamp"},
                    {"__typename": "Gift", "id": "g1", "name": "Voucher"},
                    {"__typename": "Product", "id": "p1", "name": "Table"},
                ]
            }
        }
        (call,) = gw.log.entity_calls("products")
        assert typenames(call) == [("Gift", "g1"), ("Product", "p1"), ("Product", "p2")]

    def test_type_condition_limits_entity_fetches(self, gw: GatewayClient) -> None:
        result = gw.query("{ catalog { id ... on Gift { message } } }")
        assert result == {"data": {"catalog": [{"id": "p2"}, {"id": "g1", "message": "Happy birthday"}, {"id": "p1"}]}}
        (call,) = gw.log.entity_calls("products")
        assert typenames(call) == [("Gift", "g1")]

    def test_mixed_interface_and_concrete_selections(self, gw: GatewayClient) -> None:
        result = gw.query("{ catalog { name ... on Product { price } ... on Gift { __typename } } }")
        assert result == {
            "data": {
                "catalog": [
                    {"name": "Lamp", "price": 20},
                    {"name": "Voucher", "__typename": "Gift"},
                    {"name": "Table", "price": 899},
                ]
            }
        }

    def test_typename_only_on_abstract_needs_no_entity_fetch(self, gw: GatewayClient) -> None:
        assert gw.query("{ catalog { __typename } }") == {
            "data": {"catalog": [{"__typename": "Product"}, {"__typename": "Gift"}, {"__typename": "Product"}]}
        }
        assert [r.subgraph for r in gw.log.calls()] == ["search"]
