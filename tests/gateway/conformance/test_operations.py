"""Operation features: fragments, aliases, @skip/@include, variables with defaults, operationName,
and mutations executed one after another in document order across subgraphs."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'

PRODUCTS = {
    "1": {"__typename": "Product", "upc": "1", "name": "Table", "price": 899},
    "2": {"__typename": "Product", "upc": "2", "name": "Couch", "price": 1299},
    "3": {"__typename": "Product", "upc": "3", "name": "Chair", "price": 54},
}
USERS = {"1": {"__typename": "User", "id": "1", "name": "Ada Lovelace", "username": "@ada"}}
REVIEWS = {"1": ["Love it!", "Too expensive."], "2": ["Could be better."], "3": []}


def record(info: Any, event: str) -> int:
    """Append a mutation event to the scenario's shared log; returns its 1-based position."""
    events: list[str] = info.context["scenario"].log.events
    events.append(event)
    return len(events)


def products() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  topProducts(first: Int = 2): [Product!]!
  product(upc: ID!): Product
}

type Mutation {
  addProduct(name: String!): Product!
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String!
  price(currency: String = "EUR"): String!
}
"""
    )

    def price(parent: dict[str, Any], _info: Any, currency: str = "EUR") -> str:
        return f"{parent['price']} {currency}"

    def add_product(_p: Any, info: Any, name: str) -> dict[str, Any]:
        n = record(info, f"products.addProduct({name})")
        return {"__typename": "Product", "upc": f"new{n}", "name": name, "price": 0}

    return Subgraph(
        "products",
        sdl,
        resolvers={
            "Query.topProducts": lambda _p, _i, first=2: list(PRODUCTS.values())[:first],
            "Query.product": lambda _p, _i, upc: PRODUCTS.get(upc),
            "Product.price": price,
            "Mutation.addProduct": add_product,
        },
        entities={"Product": lambda rep: PRODUCTS.get(rep["upc"])},
    )


def reviews() -> Subgraph:
    sdl = (
        LINK
        + """
type Mutation {
  addReview(upc: ID!, body: String!): Review!
}

type Review {
  body: String!
  order: Int!
}

type Product @key(fields: "upc") {
  upc: ID!
  reviews(first: Int): [Review!]!
}
"""
    )

    def product_reviews(parent: dict[str, Any], _info: Any, first: int | None = None) -> list[dict[str, Any]]:
        bodies = REVIEWS.get(parent["upc"], [])
        return [{"body": b, "order": i} for i, b in enumerate(bodies[:first] if first is not None else bodies)]

    def add_review(_p: Any, info: Any, upc: str, body: str) -> dict[str, Any]:
        return {"body": body, "order": record(info, f"reviews.addReview({upc})")}

    return Subgraph(
        "reviews",
        sdl,
        resolvers={"Product.reviews": product_reviews, "Mutation.addReview": add_review},
        entities={"Product": lambda rep: {"upc": rep["upc"]}},
    )


def accounts() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  me: User
}

type Mutation {
  login(username: String!): User
}

type User @key(fields: "id") {
  id: ID!
  name: String!
  username: String!
}
"""
    )

    def login(_p: Any, info: Any, username: str) -> dict[str, Any]:
        n = record(info, f"accounts.login({username})")
        return {"__typename": "User", "id": str(100 + n), "name": f"user{n}", "username": username}

    return Subgraph(
        "accounts",
        sdl,
        resolvers={"Query.me": lambda _p, _i: USERS["1"], "Mutation.login": login},
        entities={"User": lambda rep: USERS.get(rep["id"])},
    )


gw = scenario_gateway("operations", lambda: [products(), reviews(), accounts()])


class TestFragmentsAndAliases:
    def test_named_inline_and_nested_fragments(self, gw: GatewayClient) -> None:
        query = """
        query {
          topProducts { ...ProductCard }
          me { ... on User { ...UserName } }
        }
        fragment ProductCard on Product {
          upc
          ... on Product { name ...ProductReviews }
        }
        fragment ProductReviews on Product { reviews { body } }
        fragment UserName on User { username }
        """
        assert gw.query(query) == {
            "data": {
                "topProducts": [
                    {"upc": "1", "name": "Table", "reviews": [{"body": "Love it!"}, {"body": "Too expensive."}]},
                    {"upc": "2", "name": "Couch", "reviews": [{"body": "Could be better."}]},
                ],
                "me": {"username": "@ada"},
            }
        }

    def test_same_field_twice_with_different_arguments(self, gw: GatewayClient) -> None:
        query = """{
          product(upc: "1") {
            eur: price
            usd: price(currency: "USD")
            first: reviews(first: 1) { body }
            all: reviews { order }
          }
          other: product(upc: "3") { name }
        }"""
        assert gw.query(query) == {
            "data": {
                "product": {
                    "eur": "899 EUR",
                    "usd": "899 USD",
                    "first": [{"body": "Love it!"}],
                    "all": [{"order": 0}, {"order": 1}],
                },
                "other": {"name": "Chair"},
            }
        }

    def test_fields_merged_from_fragments_and_aliases(self, gw: GatewayClient) -> None:
        query = '{ product(upc: "2") { name ... on Product { name n: name } ...F } } fragment F on Product { name }'
        assert gw.query(query) == {"data": {"product": {"name": "Couch", "n": "Couch"}}}


class TestDirectivesAndVariables:
    QUERY = """
    query ($withReviews: Boolean!, $skipName: Boolean = false) {
      product(upc: "1") {
        name @skip(if: $skipName)
        reviews @include(if: $withReviews) { body }
      }
    }
    """

    def test_include_true_skip_default(self, gw: GatewayClient) -> None:
        assert gw.query(self.QUERY, {"withReviews": True}) == {
            "data": {"product": {"name": "Table", "reviews": [{"body": "Love it!"}, {"body": "Too expensive."}]}}
        }

    def test_include_false_avoids_the_entity_fetch(self, gw: GatewayClient) -> None:
        assert gw.query(self.QUERY, {"withReviews": False, "skipName": True}) == {"data": {"product": {}}}
        assert gw.log.calls("reviews") == []

    def test_skip_on_fragment_and_literal(self, gw: GatewayClient) -> None:
        query = (
            '{ product(upc: "2") { upc ... on Product @skip(if: true) { name } reviews @include(if: false) { body } } }'
        )
        assert gw.query(query) == {"data": {"product": {"upc": "2"}}}

    def test_variable_defaults_and_overrides(self, gw: GatewayClient) -> None:
        query = 'query ($n: Int = 3, $cur: String = "GBP") { topProducts(first: $n) { price(currency: $cur) } }'
        assert gw.query(query) == {
            "data": {"topProducts": [{"price": "899 GBP"}, {"price": "1299 GBP"}, {"price": "54 GBP"}]}
        }
        assert gw.query(query, {"n": 1, "cur": "USD"}) == {"data": {"topProducts": [{"price": "899 USD"}]}}

    def test_variable_used_in_an_entity_fetch(self, gw: GatewayClient) -> None:
        query = 'query ($k: Int) { product(upc: "1") { reviews(first: $k) { body } } }'
        assert gw.query(query, {"k": 1}) == {"data": {"product": {"reviews": [{"body": "Love it!"}]}}}

    def test_operation_name_selects_the_operation(self, gw: GatewayClient) -> None:
        doc = 'query A { me { name } } query B { product(upc: "3") { name } }'
        assert gw.query(doc, operation_name="B") == {"data": {"product": {"name": "Chair"}}}
        assert [r.subgraph for r in gw.log.calls()] == ["products"]
        assert gw.query(doc, operation_name="A") == {"data": {"me": {"name": "Ada Lovelace"}}}


class TestMutations:
    def test_mutations_run_serially_in_document_order_across_subgraphs(self, gw: GatewayClient) -> None:
        mutation = """
        mutation {
          first: addProduct(name: "Desk") { upc name }
          second: addReview(upc: "1", body: "Nice") { body order }
          third: login(username: "@grace") { id username }
          fourth: addProduct(name: "Rug") { upc }
        }
        """
        assert gw.query(mutation) == {
            "data": {
                "first": {"upc": "new1", "name": "Desk"},
                "second": {"body": "Nice", "order": 2},
                "third": {"id": "103", "username": "@grace"},
                "fourth": {"upc": "new4"},
            }
        }
        assert gw.log.events == [
            "products.addProduct(Desk)",
            "reviews.addReview(1)",
            "accounts.login(@grace)",
            "products.addProduct(Rug)",
        ]
        assert [r.subgraph for r in gw.log.calls()] == ["products", "reviews", "accounts", "products"]

    def test_mutation_result_joined_with_another_subgraph(self, gw: GatewayClient) -> None:
        mutation = "mutation ($name: String!) { addProduct(name: $name) { name reviews { body } } }"
        assert gw.query(mutation, {"name": "Stool"}) == {"data": {"addProduct": {"name": "Stool", "reviews": []}}}
        assert gw.log.events == ["products.addProduct(Stool)"]
