"""`@fromContext` planning helpers (join v0.5 `contextArguments`).

A field with contextual arguments is fetched through an entity fetch of its subgraph, whatever the
current fetch is: the value of each contextual argument is selected (as internal fields) on the
nearest enclosing position whose type sets the context, and passed to the entity fetch as a
variable, per entity (gateway.execution.context groups the entities by their values). This is
@apollo/query-planner's plan shape (`contextRewrites` from an ancestor into
`$contextualArgument_*` variables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..supergraph.model import FieldInGraph, Supergraph
from .nodes import RepSel
from .operation import CSel, parse_field_set


@dataclass(frozen=True, slots=True)
class Scope:
    """An enclosing object position while planning: its type and the planner site that plans it."""

    type_name: str
    site: Any  # planner._Site (typed loosely: the planner imports this module)


def contextual_graphs(supergraph: Supergraph, type_name: str, field_name: str) -> dict[str, FieldInGraph]:
    """The subgraphs resolving `type_name.field_name` with contextual arguments."""
    typedef = supergraph.types.get(type_name)
    fdef = typedef.fields.get(field_name) if typedef else None
    if fdef is None:
        return {}
    return {graph: info for graph, info in fdef.graphs.items() if info.context_arguments}


def nearest_scope(supergraph: Supergraph, scopes: Sequence[Scope], context: str) -> Scope | None:
    """The innermost enclosing position every runtime type of which sets `context`."""
    setters = supergraph.contexts.get(context, frozenset())
    for scope in reversed(scopes):
        if _sets(supergraph, scope.type_name, setters):
            return scope
    return None


def _sets(supergraph: Supergraph, type_name: str, setters: frozenset[str]) -> bool:
    if type_name in setters:
        return True
    runtime = supergraph.possible_types.get(type_name) or frozenset({type_name})
    return all(
        obj in setters or any(obj in supergraph.possible_types.get(s, frozenset()) for s in setters) for obj in runtime
    )


def context_selection(selection: str) -> tuple[CSel, ...]:
    """The selection of a context argument (`" { prop }"`, braces optional) as planner selections."""
    text = selection.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    return parse_field_set(text)


def value_key(rep: RepSel) -> str | None:
    """The one top-level key the projection of a context selection yields (composition allows one)."""
    if rep.fields:
        return rep.fields[0][1]
    for _, sub in rep.frags:
        found = value_key(sub)
        if found is not None:
            return found
    return None


def with_arguments(args: str, extra: Mapping[str, str]) -> str:
    """`(a: 1)` plus `b: $v`: the client's printed arguments with the contextual ones added."""
    added = ", ".join(f"{name}: ${variable}" for name, variable in extra.items())
    if not added:
        return args
    return f"{args[:-1]}, {added})" if args else f"({added})"


def data_depth(path: Sequence[str]) -> int:
    """How many response keys lead from the root to a planner path (list levels are `@`)."""
    return sum(1 for part in path if part != "@")
