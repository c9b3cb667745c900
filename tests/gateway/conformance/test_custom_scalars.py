"""Custom scalars the gateway knows nothing about: one defined identically in several subgraphs composes
once, and every value passes through unchanged, in both directions: results, literal and variable
arguments, entity representations and @requires. (The supershop subgraphs carry every money amount
as `scalar MinorUnits`, integers beyond GraphQL Int's 32 bits.)"""

from __future__ import annotations

from typing import Any

from graphql import build_schema

from gateway.composition import SubgraphSource, compose

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable", "@external", "@requires"])\n'
)
MINOR_UNITS = '''
"""An amount in minor units, a JSON integer of at most 2^53 - 1 in magnitude."""
scalar MinorUnits

type Money @shareable {
  amount: MinorUnits!
  currency: String!
}
'''
IDR = 3_000_000_000  # 2 x 15,000,000.00 IDR: beyond Int
LARGEST = 2**53 - 1
PAYLOAD = {"nested": {"big": 2**60, "fraction": 1.25, "list": [1, "two", None, True]}, "text": "ok"}

PRODUCTS = {"1": {"upc": "1", "price": {"amount": IDR // 2, "currency": "IDR"}},
            "2": {"upc": "2", "price": {"amount": LARGEST, "currency": "USD"}}}
ORDERS = {"o1": {"id": "o1", "total": {"amount": IDR, "currency": "IDR"}, "lines": [{"upc": "1", "quantity": 2}]}}
PAID = {"o1": 1_000_000_000}


def catalog() -> Subgraph:
    sdl = LINK + MINOR_UNITS + """
scalar Payload

type Query {
  products(minPrice: MinorUnits): [Product!]!
  echo(amount: MinorUnits!): MinorUnits!
  payload(value: Payload): Payload
}

type Product @key(fields: "upc") {
  upc: ID!
  price: Money!
}
"""

    def products(_p: Any, _i: Any, minPrice: Any = None) -> list[dict[str, Any]]:
        return [p for p in PRODUCTS.values() if minPrice is None or p["price"]["amount"] >= minPrice]

    return Subgraph(
        "catalog",
        sdl,
        resolvers={
            "Query.products": products,
            "Query.echo": lambda _p, _i, amount: amount,
            "Query.payload": lambda _p, _i, value=None: PAYLOAD if value is None else value,
        },
        entities={"Product": lambda rep: PRODUCTS.get(rep["upc"])},
    )


def orders() -> Subgraph:
    sdl = LINK + MINOR_UNITS + """
type Query {
  order(id: ID!): Order
}

type Order @key(fields: "id") {
  id: ID!
  total: Money!
  lines: [Line!]!
}

type Line {
  quantity: Int!
  product: Product!
}

type Product @key(fields: "upc", resolvable: false) {
  upc: ID!
}
"""
    lines = {o["id"]: [{"quantity": ln["quantity"], "product": {"upc": ln["upc"]}} for ln in o["lines"]]
             for o in ORDERS.values()}
    return Subgraph(
        "orders",
        sdl,
        resolvers={"Query.order": lambda _p, _i, id: {**ORDERS[id], "lines": lines[id]} if id in ORDERS else None},
        entities={"Order": lambda rep: {**ORDERS[rep["id"]], "lines": lines[rep["id"]]}},
    )


def payments() -> Subgraph:
    sdl = LINK + MINOR_UNITS + """
type Order @key(fields: "id") {
  id: ID!
  total: Money! @external
  amountDue: Money @requires(fields: "total { amount currency }")
}
"""

    def order(rep: dict[str, Any]) -> dict[str, Any]:
        total = rep["total"]
        due = {"amount": total["amount"] - PAID.get(rep["id"], 0), "currency": total["currency"]}
        return {"id": rep["id"], "amountDue": due}

    return Subgraph("payments", sdl, entities={"Order": order})


gw = scenario_gateway("custom_scalars", lambda: [catalog(), orders(), payments()])


def test_a_scalar_defined_identically_in_several_subgraphs_composes_once() -> None:
    sdl = compose([SubgraphSource(name=s.name, url=f"http://127.0.0.1:9/{s.name}", sdl=s.sdl)
                   for s in (catalog(), orders(), payments())])
    assert sdl.count("scalar MinorUnits") == 1
    assert sdl.count("scalar Payload") == 1
    schema = build_schema(sdl)
    assert schema.type_map["MinorUnits"].description == (
        "An amount in minor units, a JSON integer of at most 2^53 - 1 in magnitude.")


def test_the_scalar_is_introspectable_with_its_description(gw: GatewayClient) -> None:
    result = gw.query('{ __type(name: "MinorUnits") { kind name description } }')
    assert result == {"data": {"__type": {
        "kind": "SCALAR", "name": "MinorUnits",
        "description": "An amount in minor units, a JSON integer of at most 2^53 - 1 in magnitude."}}}


def test_values_beyond_32_bits_pass_through_results_entities_and_requires(gw: GatewayClient) -> None:
    result = gw.query('{ order(id: "o1") { total { amount currency } amountDue { amount } '
                      "lines { quantity product { price { amount currency } } } } }")
    assert result == {"data": {"order": {
        "total": {"amount": IDR, "currency": "IDR"},
        "amountDue": {"amount": IDR - PAID["o1"]},
        "lines": [{"quantity": 2, "product": {"price": {"amount": IDR // 2, "currency": "IDR"}}}],
    }}}
    required = [rep for call in gw.log.entity_calls("payments") for rep in call.representations]
    assert required == [{"__typename": "Order", "id": "o1", "total": {"amount": IDR, "currency": "IDR"}}]
    assert type(required[0]["total"]["amount"]) is int


def test_literal_and_variable_arguments_are_forwarded_unchanged(gw: GatewayClient) -> None:
    assert gw.query(f"{{ echo(amount: {LARGEST}) }}") == {"data": {"echo": LARGEST}}
    assert gw.query("query ($a: MinorUnits!) { echo(amount: $a) }", {"a": -LARGEST}) == {"data": {"echo": -LARGEST}}
    assert gw.log.calls("catalog")[-1].variables == {"a": -LARGEST}
    result = gw.query("query ($min: MinorUnits) { products(minPrice: $min) { upc price { amount } } }",
                      {"min": IDR})
    assert result == {"data": {"products": [{"upc": "2", "price": {"amount": LARGEST}}]}}
    assert gw.query("{ products(minPrice: 3000000000) { upc } }") == {"data": {"products": [{"upc": "2"}]}}


def test_any_json_value_of_an_unknown_scalar_passes_through_unchanged(gw: GatewayClient) -> None:
    assert gw.query("{ payload }") == {"data": {"payload": PAYLOAD}}
    assert gw.query("query ($v: Payload) { payload(value: $v) }", {"v": PAYLOAD}) == {"data": {"payload": PAYLOAD}}
    assert gw.log.calls("catalog")[-1].variables == {"v": PAYLOAD}
    literal = '{ payload(value: {text: "lit", n: [1, 2.5, null, false]}) }'
    assert gw.query(literal) == {"data": {"payload": {"text": "lit", "n": [1, 2.5, None, False]}}}
