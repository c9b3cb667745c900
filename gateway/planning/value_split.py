"""Split a field's selection into what one subgraph can serve and what must re-enter elsewhere.

A subgraph serves a selected field when it returns the field itself, or when the field sits on an
entity it can hand to another subgraph by key (a later entity hop). Anything else, typically the
fields of a value type (no key anywhere) that this subgraph lacks, or a field on an entity whose key
this subgraph cannot return (an `@external` key), must come from another subgraph re-entering at the
nearest position that can be fetched again: the enclosing entity, through its key, or the root (a
second root fetch of the same shareable field). The rest keeps the path down to those fields
(`category { details }`), so both answers merge by response key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..supergraph.model import TypeKind
from .operation import CField, CFrag, CSel, parse_field_set
from .schema_view import SchemaView

# (graph, object type, field name, what @provides makes local there) -> whether `graph` can hand an
# object of that type to another subgraph that resolves the field
CanHop = Callable[[str, str, str, Sequence[CSel] | None], bool]


class FieldSplitter:
    def __init__(self, view: SchemaView, can_hop: CanHop) -> None:
        self.view = view
        self.can_hop = can_hop

    def split_field(
        self, graph: str, type_name: str, sel: CField, provided: Sequence[CSel] | None
    ) -> tuple[CField | None, CField | None]:
        """(what `graph` serves of `sel`, what another subgraph must add; None: nothing).

        `sel` must be local in `graph`. When `graph` serves all of it, `sel` comes back unchanged.
        """
        fdef = self.view.field(type_name, sel.name)
        if not sel.selections or fdef is None:
            return sel, None
        child_provided = self._child_provided(graph, type_name, sel.name, provided)
        named = self.view.named_type_in(type_name, sel.name, graph) or fdef.named_type
        local, rest = self._split_at(graph, named, sel.selections, child_provided)
        if not rest:
            return sel, None
        if not local or only_typename(local):
            return None, sel
        return replace(sel, selections=local), replace(sel, selections=rest)

    def _split_at(
        self, graph: str, type_name: str, sels: Sequence[CSel], provided: Sequence[CSel] | None
    ) -> tuple[tuple[CSel, ...], tuple[CSel, ...]]:
        view = self.view
        typedef = view.sg.types.get(type_name)
        if typedef is None or typedef.kind is TypeKind.OBJECT or typedef.is_interface_object_in(graph):
            return self._split_object(graph, type_name, sels, provided)
        # abstract: per runtime type this subgraph may return, as the planner explodes it anyway
        local: list[CSel] = []
        rest: list[CSel] = []
        for sel in sels:
            if isinstance(sel, CField) and sel.name == "__typename":
                local.append(sel)
        for member in view.possible_in(graph, type_name):
            sub_local, sub_rest = self._split_object(graph, member, sels, provided)
            sub_local = tuple(s for s in sub_local if not (isinstance(s, CField) and s.name == "__typename"))
            if sub_local:
                local.append(CFrag(member, "", (), False, frozenset(), sub_local))
            if sub_rest:
                rest.append(CFrag(member, "", (), False, frozenset(), sub_rest))
        return tuple(local), tuple(rest)

    def _split_object(
        self, graph: str, type_name: str, sels: Sequence[CSel], provided: Sequence[CSel] | None
    ) -> tuple[tuple[CSel, ...], tuple[CSel, ...]]:
        view = self.view
        local: list[CSel] = []
        rest: list[CSel] = []
        for sel in sels:
            if sel.never:
                continue
            if not isinstance(sel, CField):
                if not view.applies(sel.type_condition, type_name):
                    continue
                sub_local, sub_rest = self._split_object(graph, type_name, sel.selections, provided)
                if sub_local:
                    local.append(replace(sel, selections=sub_local))
                if sub_rest:
                    rest.append(replace(sel, selections=sub_rest))
                continue
            if sel.name == "__typename":
                local.append(sel)
                continue
            if not view.is_local(graph, type_name, sel.name, provided):
                hop = self.can_hop(graph, type_name, sel.name, provided)
                (local if hop else rest).append(sel)
                continue
            fdef = view.field(type_name, sel.name)
            if not sel.selections or fdef is None:
                local.append(sel)
                continue
            child_provided = self._child_provided(graph, type_name, sel.name, provided)
            named = view.named_type_in(type_name, sel.name, graph) or fdef.named_type
            sub_local, sub_rest = self._split_at(graph, named, sel.selections, child_provided)
            if not sub_rest:
                local.append(sel)
                continue
            if sub_local:
                local.append(replace(sel, selections=sub_local))
            rest.append(replace(sel, selections=sub_rest))
        return tuple(local), tuple(rest)

    def _child_provided(
        self, graph: str, type_name: str, field_name: str, provided: Sequence[CSel] | None
    ) -> tuple[CSel, ...] | None:
        out = self.view.child_provided(provided, type_name, field_name)
        info = self.view.field_in(type_name, field_name, graph)
        if info is not None and info.provides:
            out += parse_field_set(info.provides)
        return out or None


def only_typename(sels: Sequence[CSel]) -> bool:
    """Whether a selection reads nothing but `__typename` (nothing worth a fetch of its own)."""
    for sel in sels:
        if isinstance(sel, CField):
            if sel.name != "__typename":
                return False
        elif not only_typename(sel.selections):
            return False
    return True
