"""@inaccessible in responses: an enum value or an object type hidden from the API schema that a
subgraph returns anyway never reaches the client. The value is null with an error at its path, and a
null in a non-null position makes the nearest nullable parent null, as in the reference gateway."""

from __future__ import annotations

import os
from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@inaccessible"])\n'

PRODUCTS: dict[str, dict[str, Any]] = {
    "p1": {"id": "p1", "status": "ACTIVE", "previous": "RETIRED", "history": ["RETIRED", "ACTIVE"]},
    "p2": {"id": "p2", "status": "SECRET", "previous": "SECRET", "history": ["ACTIVE", "SECRET"]},
    "p3": {"id": "p3", "status": "ACTIVE", "previous": "SECRET", "history": None},
}
MEDIA: list[dict[str, Any]] = [
    {"__typename": "Book", "id": "b1", "title": "Dune"},
    {"__typename": "Draft", "id": "d1", "title": "Untitled"},
]


def catalog() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  product(id: ID!): Product
  products: [Product!]
  media: [Media]!
  strictMedia: [Media!]
  featured: Media
  found: [Found]!
}

enum Status {
  ACTIVE
  RETIRED
  SECRET @inaccessible
}

type Product @key(fields: "id") {
  id: ID!
  status: Status!
  previous: Status
  history: [Status!]
}

interface Media {
  id: ID!
  title: String!
}

type Book implements Media {
  id: ID!
  title: String!
}

type Draft implements Media @inaccessible {
  id: ID!
  title: String!
}

union Found = Book | Draft
"""
    )
    return Subgraph(
        "catalog",
        sdl,
        resolvers={
            "Query.product": lambda _p, _i, id: PRODUCTS.get(id),
            "Query.products": lambda _p, _i: list(PRODUCTS.values()),
            "Query.media": lambda _p, _i: MEDIA,
            "Query.strictMedia": lambda _p, _i: MEDIA,
            "Query.featured": lambda _p, _i: MEDIA[1],
            "Query.found": lambda _p, _i: list(reversed(MEDIA)),
        },
        entities={"Product": lambda rep: PRODUCTS.get(rep["id"])},
    )


gw = scenario_gateway("inaccessiblevalues", lambda: [catalog()])


def completion_errors(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Our gateway reports these in `errors`; @apollo/gateway puts them in
    `extensions.valueCompletion` (when the response has no other errors)."""
    if os.environ.get("CONFORMANCE_GATEWAY") == "apollo":
        return list(result.get("extensions", {}).get("valueCompletion", []))
    assert "valueCompletion" not in result.get("extensions", {})
    return list(result.get("errors", []))


def error_paths(result: dict[str, Any]) -> list[list[Any]]:
    return [error["path"] for error in completion_errors(result)]


class TestInaccessibleEnumValues:
    def test_accessible_values_pass(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(id: "p1") { status previous history } }')
        assert result == {
            "data": {"product": {"status": "ACTIVE", "previous": "RETIRED", "history": ["RETIRED", "ACTIVE"]}}
        }

    def test_nullable_field_becomes_null(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(id: "p3") { id previous } }')
        assert result["data"] == {"product": {"id": "p3", "previous": None}}
        assert error_paths(result) == [["product", "previous"]]
        assert "SECRET" not in str(result)

    def test_non_null_field_nulls_its_parent(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(id: "p2") { id status } }')
        assert result["data"] == {"product": None}
        assert error_paths(result) == [["product", "status"]]
        (error,) = completion_errors(result)
        assert error["message"] == "Invalid value found for field Product.status."
        assert error["extensions"]["code"] == "INVALID_GRAPHQL"
        assert "SECRET" not in str(result)

    def test_list_item_nulls_the_list(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(id: "p2") { id history } }')
        assert result["data"] == {"product": {"id": "p2", "history": None}}
        assert error_paths(result) == [["product", "history", 1]]
        assert (
            completion_errors(result)[0]["message"]
            == "Invalid value found for array element of type Status at index 1."
        )

    def test_every_hidden_value_is_reported(self, gw: GatewayClient) -> None:
        result = gw.query("{ products { id previous } }")
        assert result["data"] == {
            "products": [
                {"id": "p1", "previous": "RETIRED"},
                {"id": "p2", "previous": None},
                {"id": "p3", "previous": None},
            ]
        }
        assert error_paths(result) == [["products", 1, "previous"], ["products", 2, "previous"]]


class TestInaccessibleObjectTypes:
    def test_nullable_abstract_field(self, gw: GatewayClient) -> None:
        result = gw.query("{ featured { __typename id } }")
        assert result["data"] == {"featured": None}
        assert error_paths(result) == [["featured"]]
        assert completion_errors(result)[0]["message"] == "Invalid __typename found for object at field Query.featured."
        assert "Draft" not in str(result)

    def test_nullable_list_items(self, gw: GatewayClient) -> None:
        result = gw.query("{ media { __typename id ... on Book { title } } }")
        assert result["data"] == {"media": [{"__typename": "Book", "id": "b1", "title": "Dune"}, None]}
        assert error_paths(result) == [["media", 1]]
        assert completion_errors(result)[0]["message"] == (
            "Invalid __typename found for object at array element of type Media at index 1."
        )
        assert "Draft" not in str(result)

    def test_non_null_list_items_null_the_list(self, gw: GatewayClient) -> None:
        result = gw.query("{ strictMedia { id } }")
        assert result["data"] == {"strictMedia": None}
        assert error_paths(result) == [["strictMedia", 1]]

    def test_union_member(self, gw: GatewayClient) -> None:
        result = gw.query("{ found { __typename ... on Book { id } } }")
        assert result["data"] == {"found": [None, {"__typename": "Book", "id": "b1"}]}
        assert error_paths(result) == [["found", 0]]
        assert "Draft" not in str(result)
