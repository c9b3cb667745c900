"""Split a selection on a value type (no key anywhere) into what one subgraph returns itself and the rest.

A value type cannot be fetched by key, so the fields of it that a subgraph lacks can only come from
another subgraph re-entering at the nearest position that can be fetched again: the enclosing
entity (through its key) or the root (a second root fetch of the same shareable field). The rest
keeps the path down to those fields (`category { details }`), so both answers merge by response key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..supergraph.model import TypeKind
from .operation import CField, CSel, parse_field_set
from .schema_view import SchemaView


def split_value_selections(
    view: SchemaView, graph: str, type_name: str, sels: Sequence[CSel], provided: Sequence[CSel] | None
) -> tuple[tuple[CSel, ...], tuple[CSel, ...]]:
    """(local, rest) for `sels` at a position of `type_name` in `graph`.

    Only object value types are descended into: below an entity, or an abstract type, the field is
    kept whole on the side that returns the field itself (later hops start from there).
    """
    local: list[CSel] = []
    rest: list[CSel] = []
    for sel in sels:
        if sel.never:
            continue
        if not isinstance(sel, CField):
            if not view.applies(sel.type_condition, type_name):
                continue
            sub_local, sub_rest = split_value_selections(view, graph, type_name, sel.selections, provided)
            if sub_local:
                local.append(replace(sel, selections=sub_local))
            if sub_rest:
                rest.append(replace(sel, selections=sub_rest))
            continue
        if sel.name == "__typename":
            local.append(sel)
            continue
        if not view.is_local(graph, type_name, sel.name, provided):
            rest.append(sel)
            continue
        fdef = view.field(type_name, sel.name)
        if not sel.selections or fdef is None:
            local.append(sel)
            continue
        child = fdef.named_type
        child_provided = _child_provided(view, graph, type_name, sel.name, provided)
        if not _is_value_object(view, child):
            if view.is_abstract(child) and view.is_keyless(child):
                # an abstract value type is taken whole from a subgraph that returns all of it
                target = local if view.fieldset_local(graph, child, sel.selections, child_provided) else rest
                target.append(sel)
            else:
                local.append(sel)
            continue
        sub_local, sub_rest = split_value_selections(view, graph, child, sel.selections, child_provided)
        if sub_local:
            local.append(replace(sel, selections=sub_local))
        if sub_rest:
            rest.append(replace(sel, selections=sub_rest))
    return tuple(local), tuple(rest)


def only_typename(sels: Sequence[CSel]) -> bool:
    """Whether a selection reads nothing but `__typename` (nothing worth a fetch of its own)."""
    for sel in sels:
        if isinstance(sel, CField):
            if sel.name != "__typename":
                return False
        elif not only_typename(sel.selections):
            return False
    return True


def _is_value_object(view: SchemaView, type_name: str) -> bool:
    typedef = view.sg.types.get(type_name)
    return typedef is not None and typedef.kind is TypeKind.OBJECT and view.is_keyless(type_name)


def _child_provided(
    view: SchemaView, graph: str, type_name: str, field_name: str, provided: Sequence[CSel] | None
) -> tuple[CSel, ...] | None:
    out = view.child_provided(provided, type_name, field_name)
    info = view.field_in(type_name, field_name, graph)
    if info is not None and info.provides:
        out += parse_field_set(info.provides)
    return out or None


def split_field(
    view: SchemaView, graph: str, type_name: str, sel: CField, provided: Sequence[CSel] | None
) -> tuple[CField | None, CField | None]:
    """(what `graph` returns of `sel`, what another subgraph must add) for a field of a value type.

    A field of another kind is returned whole as the local part.
    """
    fdef = view.field(type_name, sel.name)
    if not sel.selections or fdef is None or not _is_value_object(view, fdef.named_type):
        return sel, None
    child_provided = _child_provided(view, graph, type_name, sel.name, provided)
    local, rest = split_value_selections(view, graph, fdef.named_type, sel.selections, child_provided)
    if not rest:
        return sel, None
    if not local or only_typename(local):
        return None, sel
    return replace(sel, selections=local), replace(sel, selections=rest)
