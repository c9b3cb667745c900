"""Demand control: the static cost estimate of `@cost`/`@listSize` (Apollo's demand-control spec,
cost/v0.1), shown in `extensions.cost` when the client sends `X-Cost-Estimate: true`, and enforced
(GATEWAY_MAX_COST) before any fetch.

The rules are Apollo Router's (@apollo/gateway has no demand control, so under
CONFORMANCE_GATEWAY=apollo the module is skipped; the [reference] variants check that the
reference composer carries the directives as ours does): composite fields 1, leaves 0, `@cost` on
fields, types (objects, enums) and arguments / input fields, a mutation 10 to begin with, lists
sized by a slicing argument, `assumedSize` or the default (10); `sizedFields` size child lists;
`requireOneSlicingArgument` refuses a field given none or several of its slicing arguments; a
field's `@requires` fields add their cost.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

pytestmark = pytest.mark.skipif(
    os.environ.get("CONFORMANCE_GATEWAY") == "apollo",
    reason="@apollo/gateway has no demand control (Apollo Router does)",
)

LINK = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.9",
  import: ["@key", "@cost", "@listSize", "@shareable"])
"""

PRODUCTS = [{"id": str(i), "name": f"p{i}", "price": {"amount": i}} for i in range(1, 6)]


def shop() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  products(first: Int, last: Int): [Product!]! @listSize(slicingArguments: ["first", "last"])
  search(filter: Filter @cost(weight: 5)): [Product!]! @listSize(assumedSize: 3)
  page(limit: Int = 4): ProductPage! @listSize(slicingArguments: ["limit"], sizedFields: ["items"])
  loose(first: Int, after: Int): [Product!]!
    @listSize(slicingArguments: ["first", "after"], requireOneSlicingArgument: false)
  color: Color
}

type Mutation {
  rate(input: RatingInput!): Boolean
}

input Filter {
  name: String @cost(weight: 2)
  tags: [String!]
}

input RatingInput {
  stars: Int! @cost(weight: 3)
  comment: String
}

type ProductPage {
  items: [Product!]!
  total: Int!
}

type Product @key(fields: "id") {
  id: ID!
  name: String!
  reviews: [Review!]! @listSize(assumedSize: 2)
  price: Money!
}

type Money @cost(weight: 4) @shareable {
  amount: Int!
}

enum Color @cost(weight: 7) {
  RED
  BLUE
}

type Review {
  stars: Int!
}
"""
    )

    def sliced(n: int | None) -> list[dict[str, Any]]:
        return [{**p, "reviews": [{"stars": 5}]} for p in PRODUCTS[: n or len(PRODUCTS)]]

    return Subgraph(
        "shop",
        sdl,
        resolvers={
            "Query.products": lambda _p, _i, first=None, last=None: sliced(first or last),
            "Query.search": lambda _p, _i, filter=None: sliced(3),
            "Query.page": lambda _p, _i, limit=4: {"items": sliced(limit), "total": len(PRODUCTS)},
            "Query.loose": lambda _p, _i, first=None, after=None: sliced(first),
            "Query.color": lambda _p, _i: "RED",
            "Mutation.rate": lambda _p, _i, input: True,
        },
        entities={"Product": lambda rep: next((p for p in PRODUCTS if p["id"] == rep["id"]), None)},
    )


LIMIT = 100


def shipping() -> Subgraph:
    sdl = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.9",
  import: ["@key", "@external", "@requires", "@shareable"])

type Product @key(fields: "id") {
  id: ID!
  price: Money! @external
  shipping: Int! @requires(fields: "price { amount }")
}

type Money @shareable {
  amount: Int!
}
"""
    return Subgraph(
        "shipping",
        sdl,
        entities={"Product": lambda rep: {"id": rep["id"], "shipping": rep["price"]["amount"] + 1}},
    )


gw = scenario_gateway("demand-control", lambda: [shop(), shipping()], env={"GATEWAY_MAX_COST": str(LIMIT)})
ASK = {"X-Cost-Estimate": "true"}


def estimate(gw: GatewayClient, query: str, variables: dict[str, Any] | None = None) -> int:
    result = gw.query(query, variables, headers=ASK)
    assert "errors" not in result, result
    cost = result["extensions"]["cost"]
    assert cost["limit"] == LIMIT
    return int(cost["estimated"])


def refusal(gw: GatewayClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    before = len(gw.log.calls())
    response = gw.post(body, ASK)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert len(gw.log.calls()) == before  # refused before any fetch
    return dict(error)


def test_the_estimate_is_shown_only_on_request(gw: GatewayClient) -> None:
    plain = gw.query("{ products(first: 2) { id } }")
    assert plain == {"data": {"products": [{"id": "1"}, {"id": "2"}]}}
    asked = gw.query("{ products(first: 2) { id } }", headers=ASK)
    assert asked["data"] == plain["data"]
    assert asked["extensions"] == {"cost": {"estimated": 2, "limit": LIMIT}}


def test_slicing_argument_sizes_the_list(gw: GatewayClient) -> None:
    assert estimate(gw, "{ products(first: 3) { id } }") == 3  # 3 x Product 1
    assert estimate(gw, "{ products(last: 5) { id name } }") == 5


def test_assumed_size_and_type_cost(gw: GatewayClient) -> None:
    # 3 x (Product 1 + 2 assumed reviews x Review 1)
    assert estimate(gw, "{ products(first: 3) { reviews { stars } } }") == 9
    # 3 x (Product 1 + Money @cost 4)
    assert estimate(gw, "{ products(first: 3) { price { amount } } }") == 15


def test_enum_cost(gw: GatewayClient) -> None:
    assert estimate(gw, "{ color }") == 7


def test_argument_and_input_field_costs(gw: GatewayClient) -> None:
    assert estimate(gw, "{ search { id } }") == 3  # assumedSize 3
    # + filter @cost 5 (instead of the input object's 1) + name @cost 2; tags and its items 0
    assert estimate(gw, '{ search(filter: {name: "x", tags: ["a", "b"]}) { id } }') == 10
    assert estimate(gw, '{ search(filter: {tags: ["a"]}) { id } }') == 8


def test_a_mutation_costs_ten_and_its_input_object_one_plus_its_fields(gw: GatewayClient) -> None:
    assert estimate(gw, 'mutation { rate(input: {stars: 5, comment: "ok"}) }') == 14
    query = "mutation Rate($input: RatingInput!) { rate(input: $input) }"
    assert estimate(gw, query, {"input": {"stars": 4}}) == 14
    assert estimate(gw, query, {"input": {"stars": 4, "comment": None}}) == 14


def test_sized_fields_take_the_slicing_argument_or_its_default(gw: GatewayClient) -> None:
    # page 1 + 4 items (the `limit` default) x Product 1
    assert estimate(gw, "{ page { items { id } total } }") == 5
    assert estimate(gw, "{ page(limit: 2) { items { id } } }") == 3


def test_variable_slicing_argument_uses_the_request_value(gw: GatewayClient) -> None:
    query = "query Q($n: Int) { products(first: $n) { reviews { stars } } }"
    assert estimate(gw, query, {"n": 4}) == 12
    assert estimate(gw, query, {"n": 1}) == 3
    error = refusal(gw, query, {"n": 40})  # 40 x 3
    assert error["extensions"] == {"code": "COST_ESTIMATED_TOO_EXPENSIVE", "limit": LIMIT, "measured": 120}


def test_require_one_slicing_argument(gw: GatewayClient) -> None:
    for query, found in (("{ products { id } }", 0), ("{ products(first: 1, last: 2) { id } }", 2)):
        error = refusal(gw, query)
        assert error["extensions"] == {"code": "COST_QUERY_PARSE_FAILURE"}
        assert error["message"] == f"Exactly one slicing argument is required on Query.products, but found {found}."
    # requireOneSlicingArgument: false; the larger of the two sizes the list
    assert estimate(gw, "{ loose(first: 2, after: 3) { id } }") == 3
    assert estimate(gw, "{ loose { id } }") == 10  # the default list size


def test_required_fields_are_part_of_the_estimate(gw: GatewayClient) -> None:
    # 2 x (Product 1 + shipping (Int 0 + its @requires: Money @cost 4))
    assert estimate(gw, "{ products(first: 2) { shipping } }") == 10
    assert gw.query("{ products(first: 2) { shipping } }")["data"] == {"products": [{"shipping": 2}, {"shipping": 3}]}


def test_too_expensive_is_refused_before_any_fetch(gw: GatewayClient) -> None:
    error = refusal(gw, "{ products(first: 50) { reviews { stars } } }")  # 50 x 3
    assert error["extensions"] == {"code": "COST_ESTIMATED_TOO_EXPENSIVE", "limit": LIMIT, "measured": 150}
