"""`@fromContext` at run time: the entities of a contextual entity fetch, grouped by their values.

Each entity's contextual values are projected from its ancestor in the merged response (the object
`depth` keys below the root on the entity's own path). Entities sharing the same values share one
`_entities` fetch; each distinct tuple of values is a fetch of its own, with its own variables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ..planning.nodes import ContextValue, RepSel

Chain = tuple[dict[str, Any], ...]  # the objects from the root down to an entity, one per key


def collect_with_chains(
    value: Any, keys: tuple[str, ...], depth: int, chain: list[dict[str, Any]], out: list[tuple[dict[str, Any], Chain]]
) -> None:
    """As the executor's entity collection, in the same order, with each entity's ancestors."""
    if type(value) is list:
        for item in value:
            collect_with_chains(item, keys, depth, chain, out)
        return
    if type(value) is not dict:
        return
    chain.append(value)
    if depth == len(keys):
        out.append((value, tuple(chain)))
    else:
        collect_with_chains(value.get(keys[depth]), keys, depth + 1, chain, out)
    chain.pop()


def group_by_context(
    chains: Sequence[Chain], values: Sequence[ContextValue], project: Any
) -> list[tuple[dict[str, Any], list[int]]]:
    """[(contextual variables, positions of the entities that take them)], in first-seen order.

    `project(obj, selection, out, strict)` is the executor's representation projection."""
    groups: dict[bytes, tuple[dict[str, Any], list[int]]] = {}
    for position, chain in enumerate(chains):
        variables = {cv.variable: _value(chain, cv, project) for cv in values}
        fingerprint = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
        group = groups.get(fingerprint)
        if group is None:
            groups[fingerprint] = (variables, [position])
        else:
            group[1].append(position)
    return list(groups.values())


def _value(chain: Chain, value: ContextValue, project: Any) -> Any:
    if value.depth >= len(chain):
        return None
    projected: dict[str, Any] = {}
    selection: RepSel = value.selection
    project(chain[value.depth], selection, projected, False)
    return projected.get(value.key)
