"""Prune input-object variable values down to the fields a given subgraph declares."""

from __future__ import annotations

from typing import Any

from ..supergraph.model import Supergraph, TypeKind


def prune_input(supergraph: Supergraph, type_name: str, graph: str, value: Any) -> Any:
    typedef = supergraph.types.get(type_name)
    if typedef is None or typedef.kind is not TypeKind.INPUT_OBJECT or value is None:
        return value
    if isinstance(value, list):
        return [prune_input(supergraph, type_name, graph, item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        fdef = typedef.fields.get(key)
        if fdef is None:
            continue
        if fdef.graphs and graph not in fdef.graphs:
            continue
        out[key] = prune_input(supergraph, fdef.named_type, graph, item)
    return out
