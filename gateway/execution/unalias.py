"""Rename the planner's internal aliases back in a subgraph response (see planning.aliasing)."""

from __future__ import annotations

from typing import Any

from ..planning.nodes import Unalias
from .merge import merge_into


def unalias(value: Any, spec: Unalias) -> None:
    """In place: every object at this level gets its aliased keys back under the response key."""
    if type(value) is list:
        for item in value:
            unalias(item, spec)
        return
    if type(value) is not dict:
        return
    for sent, child in spec.children.items():
        if sent in value:
            unalias(value[sent], child)
    for sent, key in spec.renames:
        if sent not in value:
            continue
        moved = value.pop(sent)
        current = value.get(key)
        if current is None:
            value[key] = moved
        elif type(current) is dict and type(moved) is dict:
            # the same object selected twice (an interface field and a fragment's): one value
            merge_into(current, moved)


def unalias_path(path: list[Any], spec: Unalias) -> list[Any]:
    """A subgraph error's path (below the level `spec` describes) with the response keys back."""
    out: list[Any] = []
    level: Unalias | None = spec
    for segment in path:
        if isinstance(segment, int) or level is None:
            out.append(segment)
            continue
        renamed = next((key for sent, key in level.renames if sent == segment), segment)
        out.append(renamed)
        level = level.children.get(segment)
    return out
