"""Rename the planner's internal aliases back in a subgraph response (see planning.aliasing)."""

from __future__ import annotations

from typing import Any

from ..planning.nodes import Unalias


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
            from .executor import merge_into

            merge_into(current, moved)
