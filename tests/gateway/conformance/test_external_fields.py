"""`@external` fields are never resolved by the subgraph that marks them external (issue 13, item 6).

`library` implements the interface `Media` with `Book.id` and `Book.title` marked `@external` (they
satisfy the interface; `store` resolves them). Its resolvers answer placeholders for them, which must
never reach the client. Key fields are no exception: an `@external` key in a Fed 2 subgraph is not
resolvable there (Fed 1 "fake" externals on `extend type` keys are not marked external by either
composer). What `library` alone resolves (`pages`) comes from a second root fetch of the shareable
root field, in parallel, as @apollo/gateway plans it (checked with CONFORMANCE_GATEWAY=apollo), or from
an entity hop into `library`: both are valid plans, and the test checks the answer and what `library`
is asked for, not the plan's shape.
"""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable", "@external"])\n'
)

BOOKS = [("b1", "Dune", 412), ("b2", "Emma", 320)]


def library() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  media: [Media!]! @shareable
}

interface Media {
  id: ID!
  title: String!
}

type Book implements Media @key(fields: "id") {
  id: ID! @external
  title: String! @external
  pages: Int!
}
"""
    )
    rows: list[dict[str, Any]] = [
        {"__typename": "Book", "id": "placeholder", "title": "placeholder", "pages": pages} for _, _, pages in BOOKS
    ]
    pages = {id_: n for id_, _, n in BOOKS}
    return Subgraph(
        "library",
        sdl,
        resolvers={"Query.media": lambda _p, _i: rows},
        # the representation carries the real key; the answer still has the placeholders
        entities={"Book": lambda rep: {"id": "placeholder", "title": "placeholder", "pages": pages.get(rep["id"])}},
    )


def store() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  media: [Media!]! @shareable
}

interface Media {
  id: ID!
  title: String!
}

type Book implements Media @key(fields: "id") {
  id: ID!
  title: String!
}
"""
    )
    rows = [{"__typename": "Book", "id": id_, "title": title} for id_, title, _ in BOOKS]
    return Subgraph(
        "store",
        sdl,
        resolvers={"Query.media": lambda _p, _i: rows},
        entities={"Book": lambda rep: next((r for r in rows if r["id"] == rep["id"]), None)},
    )


gw = scenario_gateway("external-fields", lambda: [library(), store()])


class TestExternalNeverResolvedWhereExternal:
    def test_interface_fields_come_from_the_subgraph_that_resolves_them(self, gw: GatewayClient) -> None:
        result = gw.query("{ media { id title } }")
        assert result == {"data": {"media": [{"id": "b1", "title": "Dune"}, {"id": "b2", "title": "Emma"}]}}
        assert [r.subgraph for r in gw.log.calls()] == ["store"]

    def test_external_key_field_is_not_read_from_the_external_side(self, gw: GatewayClient) -> None:
        result = gw.query("{ media { id } }")
        assert result == {"data": {"media": [{"id": "b1"}, {"id": "b2"}]}}
        assert gw.log.calls("library") == []

    def test_own_fields_come_from_a_parallel_root_fetch(self, gw: GatewayClient) -> None:
        result = gw.query("{ media { __typename id ... on Book { title pages } } }")
        assert result == {
            "data": {
                "media": [
                    {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412},
                    {"__typename": "Book", "id": "b2", "title": "Emma", "pages": 320},
                ]
            }
        }
        # @apollo/gateway fetches `media` from both in parallel; ours may hop into library by key instead
        (asked,) = gw.log.calls("library")
        assert "title" not in asked.query
        assert "id" not in asked.query.replace("__typename", "")
