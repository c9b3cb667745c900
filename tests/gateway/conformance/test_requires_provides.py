"""@requires (nested selections, requiring fields with arguments, chained requires, requires on
interface-typed fields), @provides (nested, on interfaces and unions) and @external."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
  import: ["@key", "@shareable", "@external", "@requires", "@provides"])
"""

PRODUCTS: dict[str, dict[str, Any]] = {
    "1": {
        "upc": "1",
        "name": "Table",
        "weight": 30,
        "dimensions": {"length": 120, "width": 80, "height": 75},
        "packaging": {"__typename": "Box", "weight": 5, "volume": 700},
    },
    "2": {
        "upc": "2",
        "name": "Lamp",
        "weight": 2,
        "dimensions": {"length": 20, "width": 20, "height": 50},
        "packaging": {"__typename": "Envelope", "weight": 1},
    },
}
USERS: dict[str, dict[str, Any]] = {
    "u1": {
        "id": "u1",
        "name": "Ada Lovelace",
        "username": "@ada",
        "address": {"city": "London", "street": "St James's Sq"},
    },
    "u2": {
        "id": "u2",
        "name": "Alan Turing",
        "username": "@alan",
        "address": {"city": "Wilmslow", "street": "Adlington Rd"},
    },
}
MEDIA: dict[str, dict[str, Any]] = {
    "b1": {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412},
    "b2": {"__typename": "Book", "id": "b2", "title": "Emma", "pages": 320},
    "m1": {"__typename": "Movie", "id": "m1", "title": "Alien", "minutes": 117},
}


def products() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  products: [Product!]!
  product(upc: ID!): Product
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String!
  weight: Int!
  dimensions: Dimensions!
  packaging: Packaging!
}

type Dimensions @shareable {
  length: Int!
  width: Int!
  height: Int!
}

interface Packaging {
  weight: Int!
}

type Box implements Packaging @shareable {
  weight: Int!
  volume: Int!
}

type Envelope implements Packaging @shareable {
  weight: Int!
}
"""
    )
    return Subgraph(
        "products",
        sdl,
        resolvers={
            "Query.products": lambda _p, _i: [{"__typename": "Product", **p} for p in PRODUCTS.values()],
            "Query.product": lambda _p, _i, upc: PRODUCTS.get(upc),
        },
        entities={"Product": lambda rep: PRODUCTS.get(rep["upc"])},
    )


def inventory() -> Subgraph:
    sdl = (
        LINK
        + """
type Product @key(fields: "upc") {
  upc: ID!
  weight: Int! @external
  dimensions: Dimensions! @external
  packaging: Packaging! @external
  shippingEstimate(zip: String!): Int! @requires(fields: "weight dimensions { length width }")
  deliveryCost: Int! @requires(fields: "weight")
  packagingFee: Int! @requires(fields: "packaging { weight ... on Box { volume } }")
}

type Dimensions @shareable {
  length: Int!
  width: Int!
  height: Int!
}

interface Packaging {
  weight: Int!
}

type Box implements Packaging @shareable {
  weight: Int!
  volume: Int!
}

type Envelope implements Packaging @shareable {
  weight: Int!
}
"""
    )

    def estimate(parent: dict[str, Any], _info: Any, zip: str) -> int:
        dims = parent["dimensions"]
        factor = 2 if zip.startswith("9") else 1
        return int(parent["weight"] * factor + dims["length"] * dims["width"] // 100)

    def packaging_fee(parent: dict[str, Any], _info: Any) -> int:
        packaging = parent["packaging"]
        return int(packaging["weight"] + packaging.get("volume", 0))

    return Subgraph(
        "inventory",
        sdl,
        resolvers={
            "Product.shippingEstimate": estimate,
            "Product.deliveryCost": lambda parent, _i: parent["weight"] * 3,
            "Product.packagingFee": packaging_fee,
        },
        entities={"Product": dict},
    )


def shipping() -> Subgraph:
    sdl = (
        LINK
        + """
type Product @key(fields: "upc") {
  upc: ID!
  deliveryCost: Int! @external
  shippingQuote: String! @requires(fields: "deliveryCost")
}
"""
    )
    return Subgraph(
        "shipping",
        sdl,
        resolvers={"Product.shippingQuote": lambda parent, _i: f"{parent['deliveryCost']} EUR"},
        entities={"Product": dict},
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
  username: String! @shareable
  address: Address @shareable
}

type Address @shareable {
  city: String!
  street: String!
}
"""
    )
    return Subgraph(
        "accounts",
        sdl,
        resolvers={"Query.me": lambda _p, _i: USERS["u1"]},
        entities={"User": lambda rep: USERS.get(rep["id"])},
    )


def reviews() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  latestReviews: [Review!]!
  featured: [Featured!]! @provides(fields: "... on Book { title } ... on Movie { title }")
  staffPicks: [Media!]! @provides(fields: "... on Book { title } ... on Movie { title }")
}

type Review {
  id: ID!
  body: String!
  author: User! @provides(fields: "username address { city }")
}

type User @key(fields: "id") {
  id: ID!
  username: String! @external
  address: Address @external
}

type Address @shareable {
  city: String!
}

union Featured = Book | Movie

interface Media {
  id: ID!
  title: String!
}

type Book implements Media @key(fields: "id") {
  id: ID!
  title: String! @external
}

type Movie implements Media @key(fields: "id") {
  id: ID!
  title: String! @external
}
"""
    )

    def author(uid: str) -> dict[str, Any]:
        user = USERS[uid]
        return {
            "__typename": "User",
            "id": uid,
            "username": user["username"],
            "address": {"city": user["address"]["city"]},
        }

    def media(mid: str) -> dict[str, Any]:
        m = MEDIA[mid]
        return {"__typename": m["__typename"], "id": mid, "title": m["title"]}

    return Subgraph(
        "reviews",
        sdl,
        resolvers={
            "Query.latestReviews": lambda _p, _i: [
                {"id": "r1", "body": "Great", "author": author("u1")},
                {"id": "r2", "body": "Meh", "author": author("u2")},
            ],
            "Query.featured": lambda _p, _i: [media("b1"), media("m1")],
            "Query.staffPicks": lambda _p, _i: [media("m1"), media("b2")],
        },
        entities={"User": lambda rep: {"id": rep["id"]}},
    )


def catalog() -> Subgraph:
    sdl = (
        LINK
        + """
type Book @key(fields: "id") {
  id: ID!
  title: String! @shareable
  pages: Int!
}

type Movie @key(fields: "id") {
  id: ID!
  title: String! @shareable
  minutes: Int!
}
"""
    )
    return Subgraph(
        "catalog", sdl, entities={"Book": lambda rep: MEDIA[rep["id"]], "Movie": lambda rep: MEDIA[rep["id"]]}
    )


gw = scenario_gateway("requires", lambda: [products(), inventory(), shipping(), accounts(), reviews(), catalog()])


class TestRequires:
    def test_requires_with_nested_selection_and_field_arguments(self, gw: GatewayClient) -> None:
        result = gw.query('{ products { name a: shippingEstimate(zip: "10115") b: shippingEstimate(zip: "94105") } }')
        assert result == {
            "data": {
                "products": [
                    {"name": "Table", "a": 30 + 96, "b": 60 + 96},
                    {"name": "Lamp", "a": 2 + 4, "b": 4 + 4},
                ]
            }
        }
        assert [r.subgraph for r in gw.log.calls()] == ["products", "inventory"]
        (call,) = gw.log.entity_calls("inventory")
        assert sorted(call.representations, key=lambda r: r["upc"]) == [
            {"__typename": "Product", "upc": "1", "weight": 30, "dimensions": {"length": 120, "width": 80}},
            {"__typename": "Product", "upc": "2", "weight": 2, "dimensions": {"length": 20, "width": 20}},
        ]

    def test_requires_on_an_entity_fetched_by_key(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(upc: "2") { deliveryCost } }')
        assert result == {"data": {"product": {"deliveryCost": 6}}}
        (call,) = gw.log.entity_calls("inventory")
        assert call.representations == [{"__typename": "Product", "upc": "2", "weight": 2}]

    def test_required_field_that_itself_requires(self, gw: GatewayClient) -> None:
        result = gw.query("{ products { upc shippingQuote } }")
        assert result == {
            "data": {"products": [{"upc": "1", "shippingQuote": "90 EUR"}, {"upc": "2", "shippingQuote": "6 EUR"}]}
        }
        assert [r.subgraph for r in gw.log.calls()] == ["products", "inventory", "shipping"]
        (call,) = gw.log.entity_calls("shipping")
        assert sorted(call.representations, key=lambda r: r["upc"]) == [
            {"__typename": "Product", "upc": "1", "deliveryCost": 90},
            {"__typename": "Product", "upc": "2", "deliveryCost": 6},
        ]

    def test_requires_selecting_an_interface_field_with_type_condition(self, gw: GatewayClient) -> None:
        result = gw.query("{ products { upc packagingFee } }")
        assert result == {"data": {"products": [{"upc": "1", "packagingFee": 705}, {"upc": "2", "packagingFee": 1}]}}
        (call,) = gw.log.entity_calls("inventory")
        assert sorted(call.representations, key=lambda r: r["upc"]) == [
            {"__typename": "Product", "upc": "1", "packaging": {"__typename": "Box", "weight": 5, "volume": 700}},
            {"__typename": "Product", "upc": "2", "packaging": {"__typename": "Envelope", "weight": 1}},
        ] or sorted(call.representations, key=lambda r: r["upc"]) == [
            {"__typename": "Product", "upc": "1", "packaging": {"weight": 5, "volume": 700}},
            {"__typename": "Product", "upc": "2", "packaging": {"weight": 1}},
        ]

    def test_required_fields_are_not_leaked_into_the_response(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(upc: "1") { deliveryCost shippingQuote } }')
        assert result == {"data": {"product": {"deliveryCost": 90, "shippingQuote": "90 EUR"}}}


class TestProvides:
    def test_provided_fields_come_from_the_providing_subgraph(self, gw: GatewayClient) -> None:
        result = gw.query("{ latestReviews { body author { username address { city } } } }")
        assert result == {
            "data": {
                "latestReviews": [
                    {"body": "Great", "author": {"username": "@ada", "address": {"city": "London"}}},
                    {"body": "Meh", "author": {"username": "@alan", "address": {"city": "Wilmslow"}}},
                ]
            }
        }
        assert [r.subgraph for r in gw.log.calls()] == ["reviews"]

    def test_field_outside_the_provided_set_is_fetched_from_the_owner(self, gw: GatewayClient) -> None:
        result = gw.query("{ latestReviews { author { username name address { street } } } }")
        assert result == {
            "data": {
                "latestReviews": [
                    {"author": {"username": "@ada", "name": "Ada Lovelace", "address": {"street": "St James's Sq"}}},
                    {"author": {"username": "@alan", "name": "Alan Turing", "address": {"street": "Adlington Rd"}}},
                ]
            }
        }
        (call,) = gw.log.entity_calls("accounts")
        assert sorted(r["id"] for r in call.representations) == ["u1", "u2"]

    def test_provides_on_a_union(self, gw: GatewayClient) -> None:
        result = gw.query("{ featured { __typename ... on Book { title } ... on Movie { title } } }")
        assert result == {
            "data": {"featured": [{"__typename": "Book", "title": "Dune"}, {"__typename": "Movie", "title": "Alien"}]}
        }
        assert [r.subgraph for r in gw.log.calls()] == ["reviews"]

    def test_provides_on_a_union_with_unprovided_field(self, gw: GatewayClient) -> None:
        result = gw.query("{ featured { ... on Book { title pages } ... on Movie { minutes } } }")
        assert result == {"data": {"featured": [{"title": "Dune", "pages": 412}, {"minutes": 117}]}}
        (call,) = gw.log.entity_calls("catalog")
        assert sorted(r["id"] for r in call.representations) == ["b1", "m1"]

    def test_provides_on_an_interface(self, gw: GatewayClient) -> None:
        result = gw.query("{ staffPicks { __typename id title } }")
        assert result == {
            "data": {
                "staffPicks": [
                    {"__typename": "Movie", "id": "m1", "title": "Alien"},
                    {"__typename": "Book", "id": "b2", "title": "Emma"},
                ]
            }
        }
        assert [r.subgraph for r in gw.log.calls()] == ["reviews"]

    def test_interface_with_fields_beyond_the_provided_ones(self, gw: GatewayClient) -> None:
        result = gw.query("{ staffPicks { title ... on Book { pages } } }")
        assert result == {"data": {"staffPicks": [{"title": "Alien"}, {"title": "Emma", "pages": 320}]}}
        (call,) = gw.log.entity_calls("catalog")
        assert call.representations == [{"__typename": "Book", "id": "b2"}]
