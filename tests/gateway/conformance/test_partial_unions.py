"""A union field resolved by several subgraphs with different member sets (issue 13, item 9).

`search` is shareable: `books` knows `Book | Movie`, `films` knows `Movie | Song`. A shareable field
must answer the same wherever it is resolved, so, as @apollo/query-planner does, only the members
every candidate subgraph knows (`Movie`) are resolved through it; type conditions on the others
select nothing, so their fields are null (a non-null one nulls the parent as usual). Checked with
CONFORMANCE_GATEWAY=apollo.
"""

from __future__ import annotations

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'


def books() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  search: [Result!]! @shareable
  shelf: Shelf
}

type Shelf @key(fields: "id") {
  id: ID!
  items: [Result!]! @shareable
}

union Result = Book | Movie

type Book @key(fields: "id") {
  id: ID!
  title: String
}

type Movie @key(fields: "id") {
  id: ID!
  title: String! @shareable
}
"""
    )
    rows = [{"__typename": "Book", "id": "b1", "title": "Dune"}, {"__typename": "Movie", "id": "m1", "title": "Alien"}]
    return Subgraph(
        "books",
        sdl,
        resolvers={
            "Query.search": lambda _p, _i: rows,
            "Query.shelf": lambda _p, _i: {"__typename": "Shelf", "id": "s1", "items": rows},
        },
    )


def films() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  search: [Result!]! @shareable
}

type Shelf @key(fields: "id") {
  id: ID!
  items: [Result!]! @shareable
  label: String
}

union Result = Movie | Song

type Movie @key(fields: "id") {
  id: ID!
  title: String! @shareable
  director: String!
}

type Song @key(fields: "id") {
  id: ID!
  length: Int
}
"""
    )
    rows = [
        {"__typename": "Movie", "id": "m1", "title": "Alien", "director": "Scott"},
        {"__typename": "Song", "id": "s1", "length": 210},
    ]
    return Subgraph(
        "films",
        sdl,
        resolvers={"Query.search": lambda _p, _i: rows},
        entities={
            "Movie": lambda rep: next((r for r in rows if r["id"] == rep["id"]), None),
            "Shelf": lambda rep: {"id": rep["id"], "items": rows, "label": "Staff picks"},
        },
    )


gw = scenario_gateway("partial-unions", lambda: [books(), films()])


class TestSharedUnionMembers:
    def test_common_member_is_resolved(self, gw: GatewayClient) -> None:
        result = gw.query("{ search { __typename ... on Movie { title } } }")
        assert result == {"data": {"search": [{"__typename": "Book"}, {"__typename": "Movie", "title": "Alien"}]}}
        assert [r.subgraph for r in gw.log.calls()] == ["books"]

    def test_member_known_to_one_subgraph_only_selects_nothing(self, gw: GatewayClient) -> None:
        result = gw.query("{ search { __typename ... on Book { title } } }")
        assert result == {"data": {"search": [{"__typename": "Book", "title": None}, {"__typename": "Movie"}]}}
        (call,) = gw.log.calls()
        assert "Book" not in call.query

    def test_fields_of_the_common_member_pick_the_subgraph(self, gw: GatewayClient) -> None:
        result = gw.query("{ search { __typename ... on Movie { director } ... on Song { length } } }")
        assert result == {
            "data": {"search": [{"__typename": "Movie", "director": "Scott"}, {"__typename": "Song", "length": None}]}
        }
        (call,) = gw.log.calls()
        assert call.subgraph == "films"
        assert "Song" not in call.query

    def test_the_same_rule_holds_under_an_entity(self, gw: GatewayClient) -> None:
        result = gw.query(
            "{ shelf { label items { __typename ... on Book { bookTitle: title } ... on Movie { title } } } }"
        )
        assert result == {
            "data": {
                "shelf": {
                    "label": "Staff picks",
                    "items": [{"__typename": "Book", "bookTitle": None}, {"__typename": "Movie", "title": "Alien"}],
                }
            }
        }
        assert all("Book" not in call.query for call in gw.log.calls())
