"""A field whose type differs per subgraph (`@join__field(type:)`): a shareable field typed `Book` in
one subgraph and `ViewerMedia` (a union of Book and Song) in another. The subgraph where it is a
`Book` is sent only what applies to a Book: no `... on Song`, which it would reject."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'

BOOKS: dict[str, dict[str, Any]] = {"b1": {"id": "b1", "title": "Dune", "pages": 412}}
SONGS: dict[str, dict[str, Any]] = {"s1": {"id": "s1", "title": "Heroes", "artist": "Bowie"}}
VIEWER: dict[str, Any] = {"id": "v1", "current": {"__typename": "Book", **BOOKS["b1"]}}


def library() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  viewer: Viewer
}

type Viewer @key(fields: "id") {
  id: ID!
  current: Book @shareable
  history: [Book!]! @shareable
}

union ViewerMedia = Book | Song

type Book @key(fields: "id") {
  id: ID!
  title: String!
}

type Song @key(fields: "id") {
  id: ID!
}
"""
    )
    return Subgraph(
        "library",
        sdl,
        resolvers={
            "Query.viewer": lambda _p, _i: {**VIEWER, "history": [BOOKS["b1"]]},
        },
        entities={"Book": lambda rep: BOOKS.get(rep["id"])},
    )


def music() -> Subgraph:
    sdl = (
        LINK
        + """
type Viewer @key(fields: "id") {
  id: ID!
  current: ViewerMedia @shareable
  history: [ViewerMedia!]! @shareable
}

union ViewerMedia = Book | Song

type Book @key(fields: "id") {
  id: ID!
  pages: Int!
}

type Song @key(fields: "id") {
  id: ID!
  title: String!
  artist: String!
}
"""
    )
    return Subgraph(
        "music",
        sdl,
        entities={
            "Book": lambda rep: BOOKS.get(rep["id"]),
            "Song": lambda rep: SONGS.get(rep["id"]),
            "Viewer": lambda rep: {"id": rep["id"], "current": {"__typename": "Song", **SONGS["s1"]}},
        },
    )


gw = scenario_gateway("joinfieldtypes", lambda: [library(), music()])


def library_documents(gw: GatewayClient) -> list[str]:
    return [call.query for call in gw.log.calls() if call.subgraph == "library"]


class TestNarrowerSubgraphType:
    def test_union_fragments_on_a_book_typed_field(self, gw: GatewayClient) -> None:
        result = gw.query("{ viewer { current { __typename ... on Book { title } ... on Song { title artist } } } }")
        assert result == {"data": {"viewer": {"current": {"__typename": "Book", "title": "Dune"}}}}
        (document,) = library_documents(gw)
        assert "Song" not in document

    def test_only_a_fragment_that_cannot_apply(self, gw: GatewayClient) -> None:
        result = gw.query("{ viewer { current { ... on Song { artist } } } }")
        assert result == {"data": {"viewer": {"current": {}}}}
        assert all("Song" not in doc for doc in library_documents(gw))

    def test_entity_hop_below_the_narrowed_field(self, gw: GatewayClient) -> None:
        result = gw.query("{ viewer { current { ... on Book { title pages } } } }")
        assert result == {"data": {"viewer": {"current": {"title": "Dune", "pages": 412}}}}

    def test_list_of_the_narrower_type(self, gw: GatewayClient) -> None:
        result = gw.query("{ viewer { history { __typename ... on Song { artist } ... on Book { id title } } } }")
        assert result == {"data": {"viewer": {"history": [{"__typename": "Book", "id": "b1", "title": "Dune"}]}}}
        assert all("Song" not in doc for doc in library_documents(gw))
