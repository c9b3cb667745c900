"""@defer delivery: which fragments are deferred for one request, the primary part's response shape
without them, and where (and with which shape) each deferred part's data is delivered.

The planner decides how each deferred part is fetched (gateway.planning.deferred); this module
describes what the client receives. Both are keyed by the set of active @defer occurrences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from graphql import GraphQLSchema, get_named_type, is_abstract_type

from .operation import CField, CFrag, CSel, Defer
from .shape import ShapeCompiler, ShapeSel, possible_object_types


@dataclass(frozen=True, slots=True)
class DeferSite:
    """Where one deferred fragment is delivered: an item per object at `path` (response keys)."""

    defer: Defer
    path: tuple[str, ...]
    type_name: str  # the API type at `path`
    shape: ShapeSel  # the fragment's fields (nested deferred fragments left out)
    runtime_types: frozenset[str] | None  # the fragment's type condition (None: every object)
    frag: CFrag
    parent: int | None  # the enclosing deferred fragment (Defer.id), None: the primary part


@dataclass(frozen=True, slots=True)
class IncrementalShape:
    primary: ShapeSel
    sites: tuple[DeferSite, ...]


def active_defers(defers: Sequence[Defer], variables: Mapping[str, Any], operation_kind: str) -> frozenset[int]:
    """The @defer occurrences in force: `if: $v` is read per request. Subscriptions never defer
    (validation allows them only an `if` that can be false)."""
    if operation_kind == "subscription":
        return frozenset()
    return frozenset(d.id for d in defers if d.condition is None or bool(variables.get(d.condition)))


def strip_deferred(sels: Sequence[CSel], active: frozenset[int]) -> tuple[CSel, ...]:
    """`sels` without the active deferred fragments (their fields arrive in later payloads)."""
    out: list[CSel] = []
    for sel in sels:
        if isinstance(sel, CFrag):
            if sel.defer is not None and sel.defer.id in active:
                continue
            out.append(replace(sel, selections=strip_deferred(sel.selections, active)))
        elif sel.selections is not None:
            out.append(replace(sel, selections=strip_deferred(sel.selections, active)))
        else:
            out.append(sel)
    return tuple(out)


def compile_incremental(
    schema: GraphQLSchema, root_type: str, selections: Sequence[CSel], active: frozenset[int]
) -> IncrementalShape:
    compiler = ShapeCompiler(schema)
    primary = compiler.compile_root(root_type, strip_deferred(selections, active))
    sites: list[DeferSite] = []
    _walk(schema, compiler, root_type, selections, (), None, active, sites)
    return IncrementalShape(primary, tuple(sites))


def _walk(
    schema: GraphQLSchema,
    compiler: ShapeCompiler,
    type_name: str,
    sels: Sequence[CSel],
    path: tuple[str, ...],
    parent: int | None,
    active: frozenset[int],
    out: list[DeferSite],
) -> None:
    for sel in sels:
        if sel.never:
            continue
        if isinstance(sel, CFrag):
            inner = sel.type_condition or type_name
            if sel.defer is not None and sel.defer.id in active:
                frag = replace(sel, defer=None, selections=strip_deferred(sel.selections, active))
                shape = compiler.compile(type_name, [((frag,), ())])
                out.append(
                    DeferSite(sel.defer, path, type_name, shape, _runtime_types(schema, sel, type_name), frag, parent)
                )
                _walk(schema, compiler, inner, sel.selections, path, sel.defer.id, active, out)
            else:
                _walk(schema, compiler, inner, sel.selections, path, parent, active, out)
            continue
        if sel.selections is None:
            continue
        field_def = _field(schema, type_name, sel)
        if field_def is not None:
            named = get_named_type(field_def.type).name
            _walk(schema, compiler, named, sel.selections, (*path, sel.response_key), parent, active, out)


def _field(schema: GraphQLSchema, type_name: str, sel: CField) -> Any:
    parent = schema.get_type(type_name)
    fields = getattr(parent, "fields", None) or {}
    return fields.get(sel.name)


def _runtime_types(schema: GraphQLSchema, frag: CFrag, type_name: str) -> frozenset[str] | None:
    condition = frag.type_condition
    if condition is None or condition == type_name:
        return None
    cond_type = schema.get_type(condition)
    if cond_type is None:
        return frozenset()
    if is_abstract_type(cond_type):
        return frozenset(t.name for t in possible_object_types(schema, cond_type))
    return frozenset({condition})
