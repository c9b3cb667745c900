"""Planner-side queries over the supergraph model: who can resolve what, with which keys."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from ..supergraph.model import FieldDef, FieldInGraph, Key, Supergraph, TypeDef, TypeKind
from .operation import CField, CSel, field_set_names, parse_field_set


class SchemaView:
    """Answers planning questions for one set of active progressive-override labels."""

    def __init__(self, supergraph: Supergraph, active_labels: frozenset[str]) -> None:
        self.sg = supergraph
        self.labels = active_labels
        self.graph_order = {name: i for i, name in enumerate(supergraph.subgraphs)}
        self._interfaces_of: dict[str, tuple[str, ...]] = {}
        for name, members in supergraph.possible_types.items():
            typedef = supergraph.types.get(name)
            if typedef is None or typedef.kind is not TypeKind.INTERFACE:
                continue
            for member in members:
                self._interfaces_of.setdefault(member, ())
                self._interfaces_of[member] += (name,)
        self.possible_in = lru_cache(maxsize=None)(self._possible_in)
        self.key_field_names = lru_cache(maxsize=None)(self._key_field_names)
        self.shared_union_members = lru_cache(maxsize=None)(self._shared_union_members)

    # --- types -----------------------------------------------------------------------------
    def type(self, name: str) -> TypeDef:
        return self.sg.types[name]

    def is_abstract(self, name: str) -> bool:
        typedef = self.sg.types.get(name)
        return typedef is not None and typedef.kind in (TypeKind.INTERFACE, TypeKind.UNION)

    def is_composite(self, name: str) -> bool:
        typedef = self.sg.types.get(name)
        return typedef is not None and typedef.kind in (TypeKind.OBJECT, TypeKind.INTERFACE, TypeKind.UNION)

    def in_graph(self, type_name: str, graph: str) -> bool:
        typedef = self.sg.types.get(type_name)
        return typedef is not None and (typedef.unowned or graph in typedef.graphs)

    def applies(self, condition: str | None, type_name: str) -> bool:
        """Whether a fragment on `condition` applies to objects at a position of `type_name`."""
        if condition is None or condition == type_name:
            return True
        return type_name in self.sg.possible_types.get(condition, ())

    def interfaces_of(self, type_name: str) -> tuple[str, ...]:
        return self._interfaces_of.get(type_name, ())

    def _possible_in(self, graph: str, abstract: str) -> tuple[str, ...]:
        """Concrete types a subgraph may return at a position of abstract type `abstract`."""
        typedef = self.sg.types[abstract]
        candidates = sorted(self.sg.possible_types.get(abstract, ()))
        if typedef.kind is TypeKind.UNION:
            if typedef.union_members:
                return tuple(m for m in candidates if m in typedef.union_members.get(graph, ()))
            return tuple(m for m in candidates if self.in_graph(m, graph))
        if self.sg.has_join_implements:
            return tuple(
                m
                for m in candidates
                if abstract in self.sg.types[m].implements.get(graph, ()) and self.in_graph(m, graph)
            )
        return tuple(m for m in candidates if self.in_graph(m, graph))

    def _shared_union_members(self, parent: str, field_name: str) -> frozenset[str] | None:
        """The members of a union-typed field resolved by several subgraphs that the planner selects:
        only those every one of them knows (the reference semantics; a shareable field must answer
        the same in each). None when one subgraph resolves the field, or the type is no union."""
        fdef = self.field(parent, field_name)
        if fdef is None:
            return None
        typedef = self.sg.types.get(fdef.named_type)
        if typedef is None or typedef.kind is not TypeKind.UNION:
            return None
        graphs = [g for g, info in fdef.graphs.items() if not info.external and self.usable(info)]
        if len(graphs) < 2:
            return None
        members: frozenset[str] | None = None
        for graph in graphs:
            # the field's type in that subgraph (`@join__field(type:)`): a member object, or a union
            named = self.named_type_in(parent, field_name, graph) or fdef.named_type
            known = frozenset(self.possible_in(graph, named)) if self.is_abstract(named) else frozenset({named})
            members = known if members is None else members & known
        return members

    # --- fields ----------------------------------------------------------------------------
    def field(self, type_name: str, field_name: str) -> FieldDef | None:
        typedef = self.sg.types.get(type_name)
        return typedef.fields.get(field_name) if typedef else None

    def usable(self, info: FieldInGraph) -> bool:
        """Whether this join__field lets its graph resolve the field, given override labels."""
        if info.used_overridden:
            return False
        if info.override_label is not None:
            active = info.override_label in self.labels
            return active if info.override is not None else not active
        return True

    def field_in(self, type_name: str, field_name: str, graph: str) -> FieldInGraph | None:
        fdef = self.field(type_name, field_name)
        if fdef is None:
            return None
        info = fdef.graphs.get(graph)
        if info is None or not self.usable(info):
            return None
        return info

    def type_in(self, type_name: str, field_name: str, graph: str) -> str | None:
        """The field's type as `graph` declares it (`@join__field(type:)`), e.g. `Book` where the
        supergraph says `ViewerMedia`; None for an unknown field."""
        fdef = self.field(type_name, field_name)
        if fdef is None:
            return None
        info = fdef.graphs.get(graph)
        return info.type if info is not None and info.type else fdef.type_str

    def named_type_in(self, type_name: str, field_name: str, graph: str) -> str | None:
        type_str = self.type_in(type_name, field_name, graph)
        return type_str.strip("[]!") if type_str else None

    def _key_field_names(self, type_name: str, graph: str) -> frozenset[str]:
        typedef = self.sg.types.get(type_name)
        if typedef is None:
            return frozenset()
        names: set[str] = set()
        for key in typedef.keys_in(graph):
            names |= field_set_names(parse_field_set(key.fields))
        return frozenset(names)

    def is_local(self, graph: str, type_name: str, field_name: str, provided: Sequence[CSel] | None) -> bool:
        """Whether `graph` returns the field inside an ongoing fetch, without an entity hop."""
        fdef = self.field(type_name, field_name)
        if fdef is None:
            return False
        info = fdef.graphs.get(graph)
        if info is None:
            return False
        if info.external:
            # never resolvable by the subgraph that marks it external, unless an enclosing
            # @provides says so (key fields included: Fed 1 "fake" externals are not marked)
            return provided is not None and self.provides(provided, type_name, field_name)
        if not self.usable(info):
            return False
        return info.requires is None

    def provides(self, provided: Sequence[CSel], type_name: str, field_name: str) -> bool:
        for sel in provided:
            if isinstance(sel, CField):
                if sel.name == field_name:
                    return True
            elif self.applies(sel.type_condition, type_name) and self.provides(sel.selections, type_name, field_name):
                return True
        return False

    def child_provided(self, provided: Sequence[CSel] | None, type_name: str, field_name: str) -> tuple[CSel, ...]:
        if not provided:
            return ()
        out: list[CSel] = []
        for sel in provided:
            if isinstance(sel, CField):
                if sel.name == field_name and sel.selections:
                    out.extend(sel.selections)
            elif self.applies(sel.type_condition, type_name):
                out.extend(self.child_provided(sel.selections, type_name, field_name))
        return tuple(out)

    def is_keyless(self, type_name: str) -> bool:
        """A value type: no subgraph can fetch it by key (abstract: some possible type cannot)."""
        typedef = self.sg.types.get(type_name)
        if typedef is None or typedef.kind not in (TypeKind.OBJECT, TypeKind.INTERFACE, TypeKind.UNION):
            return False
        members = (type_name,) if typedef.kind is TypeKind.OBJECT else tuple(self.sg.possible_types[type_name])
        return any(
            not any(k.resolvable for info in self.sg.types[m].graphs.values() for k in info.keys) for m in members
        )

    def resolvable_keys(self, type_name: str, graph: str) -> tuple[Key, ...]:
        typedef = self.sg.types.get(type_name)
        if typedef is None:
            return ()
        return tuple(k for k in typedef.keys_in(graph) if k.resolvable)

    def fieldset_local(
        self, graph: str, type_name: str, selections: Sequence[CSel], provided: Sequence[CSel] | None
    ) -> bool:
        """Whether a key/requires field set can be read from `graph` at a position of `type_name`."""
        for sel in selections:
            if isinstance(sel, CField):
                if sel.name == "__typename":
                    continue
                if not self.is_local(graph, type_name, sel.name, provided):
                    return False
                if sel.selections:
                    fdef = self.field(type_name, sel.name)
                    assert fdef is not None
                    child = self.named_type_in(type_name, sel.name, graph) or fdef.named_type
                    child_provided = self.child_provided(provided, type_name, sel.name)
                    targets = self.possible_in(graph, child) if self.is_abstract(child) else (child,)
                    for target in targets:
                        if not self.fieldset_local(graph, target, sel.selections, child_provided):
                            return False
            elif self.applies(sel.type_condition, type_name) and not self.fieldset_local(
                graph, type_name, sel.selections, provided
            ):
                return False
        return True

    def missing_count(
        self,
        graph: str,
        type_name: str,
        selections: Sequence[CSel],
        provided: Sequence[CSel] | None,
        depth: int = 0,
    ) -> int:
        """How many selected fields `graph` could not return itself (a cheap hop estimate)."""
        if depth > 4:
            return 0
        if self.is_abstract(type_name) and not self.type(type_name).is_interface_object_in(graph):
            return sum(
                self.missing_count(graph, member, selections, provided, depth + 1)
                for member in self.possible_in(graph, type_name)
            )
        missing = 0
        for sel in selections:
            if isinstance(sel, CField):
                if sel.name == "__typename":
                    continue
                if not self.is_local(graph, type_name, sel.name, provided):
                    # one hop, plus what the best other subgraph still could not return
                    missing += 1
                    fdef = self.field(type_name, sel.name)
                    if sel.selections and fdef is not None:
                        others = [
                            self.missing_count(
                                g,
                                fdef.named_type,
                                sel.selections,
                                parse_field_set(info.provides) if info.provides else None,
                                depth + 1,
                            )
                            for g, info in fdef.graphs.items()
                            if g != graph and not info.external and self.usable(info)
                        ]
                        missing += min(others, default=0)
                elif sel.selections:
                    fdef = self.field(type_name, sel.name)
                    if fdef is None:
                        continue
                    info = fdef.graphs.get(graph)
                    child_provided = self.child_provided(provided, type_name, sel.name)
                    if info is not None and info.provides:
                        child_provided += parse_field_set(info.provides)
                    child = self.named_type_in(type_name, sel.name, graph) or fdef.named_type
                    missing += self.missing_count(graph, child, sel.selections, child_provided, depth + 1)
            elif self.applies(sel.type_condition, type_name):
                missing += self.missing_count(graph, type_name, sel.selections, provided, depth)
        return missing
