"""Building a service's Federation 2 schema with the kit's error conventions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.extensions import MaskErrors, QueryDepthLimiter

from subgraphs.kit.errors import should_mask_error

MAX_QUERY_DEPTH = 15


def federation_schema(
    *,
    query: type,
    mutation: type | None = None,
    subscription: type | None = None,
    types: Iterable[type] = (),
    extensions: Iterable[Any] = (),
) -> strawberry.federation.Schema:
    """A Federation 2 schema whose unexpected errors are masked (and logged), depth-limited."""
    return strawberry.federation.Schema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=list(types),
        extensions=[
            lambda: MaskErrors(should_mask_error=should_mask_error, error_message="Internal server error"),
            lambda: QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH),
            *extensions,
        ],
    )
