"""@inaccessible, enums and input types that differ between subgraphs, and API-schema introspection."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable", "@inaccessible"])\n'
)

PRODUCTS = [
    {"__typename": "Product", "upc": "1", "name": "Table", "price": 899, "category": "FURNITURE", "internalCode": "X1"},
    {"__typename": "Product", "upc": "2", "name": "Lamp", "price": 20, "category": "LIGHTING", "internalCode": "X2"},
    {"__typename": "Product", "upc": "3", "name": "Chair", "price": 54, "category": "FURNITURE", "internalCode": "X3"},
]


def _filter(rows: list[dict[str, Any]], filter: dict[str, Any] | None, order: str) -> list[dict[str, Any]]:
    out = [r for r in rows if filter is None or filter.get("maxPrice") is None or r["price"] <= filter["maxPrice"]]
    return sorted(out, key=lambda r: r["price"], reverse=order == "DESC")


def products() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  products(filter: Filter, order: SortOrder = ASC): [Product!]!
  secretProducts: [Product!]! @inaccessible
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String!
  price: Int!
  category: Category!
  internalCode: String! @inaccessible
}

enum Category {
  FURNITURE
  LIGHTING
}

enum SortOrder {
  ASC
  DESC
}

input Filter {
  maxPrice: Int
  minPrice: Int
}
"""
    )
    return Subgraph(
        "products",
        sdl,
        resolvers={
            "Query.products": lambda _p, _i, filter=None, order="ASC": _filter(PRODUCTS, filter, order),
            "Query.secretProducts": lambda _p, _i: PRODUCTS,
        },
        entities={"Product": lambda rep: next(p for p in PRODUCTS if p["upc"] == rep["upc"])},
    )


def search() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  search(filter: Filter, order: SortOrder = ASC): [Product!]!
  categories: [Category!]!
}

type Product @key(fields: "upc") {
  upc: ID!
}

enum Category {
  FURNITURE
  LIGHTING
  OUTDOOR
}

enum SortOrder {
  ASC
  DESC
  RANDOM
}

input Filter {
  maxPrice: Int
  name: String
}
"""
    )
    return Subgraph(
        "search",
        sdl,
        resolvers={
            "Query.search": lambda _p, _i, filter=None, order="ASC": [
                {"__typename": "Product", "upc": r["upc"]} for r in _filter(PRODUCTS, filter, order)
            ],
            "Query.categories": lambda _p, _i: ["OUTDOOR", "FURNITURE"],
        },
    )


gw = scenario_gateway("schema_merging", lambda: [products(), search()])

TYPE_QUERY = """
query ($name: String!) {
  __type(name: $name) {
    kind
    fields { name }
    enumValues { name }
    inputFields { name }
  }
}
"""


def introspect_type(gw: GatewayClient, name: str) -> dict[str, Any]:
    result = gw.query(TYPE_QUERY, {"name": name})
    assert "errors" not in result, result
    return result["data"]["__type"]


def names(entries: list[dict[str, Any]] | None) -> list[str]:
    return sorted(e["name"] for e in entries or [])


class TestInaccessible:
    def test_inaccessible_field_is_not_introspectable(self, gw: GatewayClient) -> None:
        assert names(introspect_type(gw, "Product")["fields"]) == ["category", "name", "price", "upc"]
        assert names(introspect_type(gw, "Query")["fields"]) == ["categories", "products", "search"]

    def test_querying_an_inaccessible_field_is_a_validation_error(self, gw: GatewayClient) -> None:
        result = gw.query("{ products { name internalCode } }")
        assert result.get("data") is None
        assert len(result["errors"]) == 1
        assert "internalCode" in result["errors"][0]["message"]
        assert gw.log.calls() == []

    def test_querying_an_inaccessible_root_field_is_a_validation_error(self, gw: GatewayClient) -> None:
        result = gw.query("{ secretProducts { name } }")
        assert result.get("data") is None
        assert "secretProducts" in result["errors"][0]["message"]
        assert gw.log.calls() == []

    def test_inaccessible_field_is_still_usable_internally(self, gw: GatewayClient) -> None:
        # upc is the key used to join search -> products; name comes from products.
        result = gw.query("{ search(filter: {maxPrice: 60}) { name } }")
        assert result == {"data": {"search": [{"name": "Lamp"}, {"name": "Chair"}]}}


class TestEnumsAndInputs:
    def test_output_only_enum_is_the_union_of_values(self, gw: GatewayClient) -> None:
        assert names(introspect_type(gw, "Category")["enumValues"]) == ["FURNITURE", "LIGHTING", "OUTDOOR"]
        assert gw.query("{ categories }") == {"data": {"categories": ["OUTDOOR", "FURNITURE"]}}

    def test_input_enum_is_the_intersection_of_values(self, gw: GatewayClient) -> None:
        assert names(introspect_type(gw, "SortOrder")["enumValues"]) == ["ASC", "DESC"]
        result = gw.query("{ search(order: RANDOM) { upc } }")
        assert result.get("data") is None
        assert "RANDOM" in result["errors"][0]["message"]

    def test_input_type_is_the_intersection_of_fields(self, gw: GatewayClient) -> None:
        assert names(introspect_type(gw, "Filter")["inputFields"]) == ["maxPrice"]
        result = gw.query("{ products(filter: {minPrice: 10}) { upc } }")
        assert result.get("data") is None
        assert "minPrice" in result["errors"][0]["message"]
        assert gw.log.calls() == []

    def test_enum_and_input_arguments_are_forwarded(self, gw: GatewayClient) -> None:
        result = gw.query(
            "query ($f: Filter, $o: SortOrder) { products(filter: $f, order: $o) { name category } }",
            {"f": {"maxPrice": 900}, "o": "DESC"},
        )
        assert result == {
            "data": {
                "products": [
                    {"name": "Table", "category": "FURNITURE"},
                    {"name": "Chair", "category": "FURNITURE"},
                    {"name": "Lamp", "category": "LIGHTING"},
                ]
            }
        }
