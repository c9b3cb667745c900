"""The shared Relay connection pieces: PageInfo, Edge/Connection, page_info, check_page_size, CursorCodec."""

from __future__ import annotations

import base64

import pytest
import strawberry

from subgraphs.kit.errors import BadUserInput
from subgraphs.kit.pagination import Connection, CursorCodec, Edge, PageInfo, check_page_size, page_info


@strawberry.type
class Item:
    id: strawberry.ID


ItemConnection = Connection[Item]


@strawberry.type
class Query:
    @strawberry.field
    def items(self, first: int = 2, after: str | None = None) -> ItemConnection:
        check_page_size(first, maximum=10)
        edges = [Edge(cursor=f"c{i}", node=Item(id=strawberry.ID(str(i)))) for i in range(first)]
        return ItemConnection(edges=edges, page_info=page_info(edges, has_next_page=True, after=after), total_count=9)


def test_the_types_print_as_relay_connections_with_a_shareable_page_info() -> None:
    sdl = strawberry.federation.Schema(query=Query).as_str()
    assert "type ItemConnection {\n  edges: [ItemEdge!]!\n  pageInfo: PageInfo!\n  totalCount: Int!\n}" in sdl
    assert "type ItemEdge {\n  cursor: String!\n  node: Item!\n}" in sdl
    assert ("type PageInfo @shareable {\n  hasNextPage: Boolean!\n  hasPreviousPage: Boolean!\n"
            "  startCursor: String\n  endCursor: String\n}") in sdl


def test_a_connection_resolves() -> None:
    result = strawberry.federation.Schema(query=Query).execute_sync(
        '{ items(first: 2, after: "x") { totalCount edges { cursor node { id } } '
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }")
    assert result.errors is None
    assert result.data == {"items": {
        "totalCount": 9,
        "edges": [{"cursor": "c0", "node": {"id": "0"}}, {"cursor": "c1", "node": {"id": "1"}}],
        "pageInfo": {"hasNextPage": True, "hasPreviousPage": True, "startCursor": "c0", "endCursor": "c1"},
    }}


def test_page_info_of_a_first_page_and_of_an_empty_page() -> None:
    edges = [Edge(cursor="a", node=1), Edge(cursor="b", node=2)]
    assert page_info(edges, has_next_page=False, after=None) == PageInfo(
        has_next_page=False, has_previous_page=False, start_cursor="a", end_cursor="b")
    assert page_info([], has_next_page=False, after="z") == PageInfo(
        has_next_page=False, has_previous_page=True, start_cursor=None, end_cursor=None)
    assert page_info([], has_next_page=False, after="z", empty_end_cursor="z").end_cursor == "z"


def test_check_page_size_bounds_and_error_details() -> None:
    assert check_page_size(1, maximum=100) == 1
    assert check_page_size(100, maximum=100) == 100
    assert check_page_size(0, minimum=0, maximum=100) == 0
    for first in (0, 101, -1):
        with pytest.raises(BadUserInput, match="between 1 and 100") as info:
            check_page_size(first, maximum=100)
        assert info.value.extensions == {"code": "BAD_USER_INPUT", "argument": "first"}
    with pytest.raises(BadUserInput) as info:
        check_page_size(0, maximum=5, extension_key="field")
    assert info.value.extensions == {"code": "BAD_USER_INPUT", "field": "first"}


@pytest.mark.parametrize("value", [[1, "NEWEST", 1718000000000, "0" * 24], ["order", 42], {"k": "v"}, 7, "é"])
def test_cursors_round_trip_and_are_url_safe(value: object) -> None:
    codec = CursorCodec()
    cursor = codec.encode(value)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert codec.decode(cursor) == value
    assert codec.decode(cursor + "=" * (-len(cursor) % 4)) == value  # padded copies are read too


@pytest.mark.parametrize("cursor", ["", "!!!", "%%%", "not-a-cursor", "A" * 600, "é",
                                    base64.urlsafe_b64encode(b"order:5").decode()])
def test_unreadable_cursors_are_bad_user_input(cursor: str) -> None:
    codec = CursorCodec(message="not one of ours", extension_key="field")
    with pytest.raises(BadUserInput, match="not one of ours") as info:
        codec.decode(cursor)
    assert info.value.extensions == {"code": "BAD_USER_INPUT", "field": "after"}
    assert codec.invalid().extensions == info.value.extensions
