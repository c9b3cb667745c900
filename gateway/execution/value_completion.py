"""Errors for subgraph values the API schema does not have: an `@inaccessible` enum value, or an
object whose `__typename` is an `@inaccessible` (or unknown) type. Such a value becomes null; the
messages and code are those of the reference gateway's result shaping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CODE = "INVALID_GRAPHQL"


def _position(path: Sequence[str | int], type_name: str, parent_type: str) -> str:
    last = path[-1] if path else ""
    if isinstance(last, int):
        return f"array element of type {type_name} at index {last}"
    return f"field {parent_type}.{last}"


def invalid_value(path: Sequence[str | int], type_name: str, parent_type: str) -> dict[str, Any]:
    return {
        "message": f"Invalid value found for {_position(path, type_name, parent_type)}.",
        "path": list(path),
        "extensions": {"code": CODE},
    }


def invalid_typename(path: Sequence[str | int], type_name: str, parent_type: str) -> dict[str, Any]:
    return {
        "message": f"Invalid __typename found for object at {_position(path, type_name, parent_type)}.",
        "path": list(path),
        "extensions": {"code": CODE},
    }
