"""Relay cursor connections, shared by every service that pages a listing.

The `PageInfo` type (one definition, as federation requires of a shareable type), generic `Edge` and
`Connection` types, `page_info` to build PageInfo from a forward page, `check_page_size` for `first`,
and `CursorCodec` for opaque cursors. What a cursor holds (a sort key, an id, a sequence number) is the
service's business; the codec only makes it opaque and refuses what it cannot read.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import orjson
import strawberry

from subgraphs.kit.errors import BadUserInput

NodeT = TypeVar("NodeT")


@strawberry.federation.type(shareable=True, description="Relay page information, shared with other subgraphs.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    """A node with its cursor; `Edge[Order]` is the GraphQL type `OrderEdge`."""

    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    """A page of nodes with the number of them over all pages; `Connection[Order]` is `OrderConnection`."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo
    total_count: int


class HasCursor(Protocol):
    @property
    def cursor(self) -> str: ...


def page_info(
    edges: Sequence[HasCursor], *, has_next_page: bool, after: str | None, empty_end_cursor: str | None = None
) -> PageInfo:
    """The PageInfo of a forward page that started after the cursor `after` (None for the first page).

    `empty_end_cursor` is the end cursor of a page with no edges (None unless the service keeps the
    client's place, e.g. by passing `after`)."""
    return PageInfo(
        has_next_page=has_next_page,
        has_previous_page=after is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else empty_end_cursor,
    )


def check_page_size(first: int, *, maximum: int, minimum: int = 1, extension_key: str = "argument") -> int:
    """`first` if it lies in minimum..maximum, else BAD_USER_INPUT naming `first` under `extension_key`."""
    if not minimum <= first <= maximum:
        raise BadUserInput(f"`first` must be between {minimum} and {maximum}", **{extension_key: "first"})
    return first


@dataclass(frozen=True)
class CursorCodec:
    """Opaque cursors: unpadded URL-safe base64 of the compact JSON of a service's key values.

    `decode` returns the JSON value and refuses, with `invalid()`, anything that is not such a cursor;
    the service then checks the value's shape and raises `invalid()` for a wrong one too."""

    message: str = "`after` is not a cursor of this listing"
    argument: str = "after"
    extension_key: str = "argument"
    max_length: int = 512

    def encode(self, value: Any) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")

    def decode(self, cursor: str) -> Any:
        if not cursor or len(cursor) > self.max_length:
            raise self.invalid()
        try:
            return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError):
            raise self.invalid() from None

    def invalid(self) -> BadUserInput:
        """The error for a cursor this listing did not issue."""
        return BadUserInput(self.message, **{self.extension_key: self.argument})
