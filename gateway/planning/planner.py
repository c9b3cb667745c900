"""Turn a normalised operation into a query plan.

The planner walks the client selection set keeping a "current fetch group" (one subgraph
request). A field the current subgraph can return is added to that group's selection; any other
field becomes an entity hop: a child group (an `_entities` fetch at the same response path) in a
subgraph that can resolve it, whose representation (`__typename` + key + `@requires` fields) is
itself planned as internal selections of the parent group. Abstract positions are exploded per
runtime type the current subgraph knows. Groups form a DAG that is scheduled as
Sequence/Parallel levels (mutation root fields as consecutive stages). A @defer fragment in force
is planned into groups of its own part (`_Group.part`), scheduled separately as a DeferredNode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from graphql import VariableDefinitionNode, print_ast

from ..supergraph.model import ContextArgument, FieldDef, FieldInGraph, Key, Supergraph, TypeKind
from .aliasing import alias_conflicts
from .collapse import collapse_exploded
from .context import (
    Scope,
    context_selection,
    contextual_graphs,
    data_depth,
    nearest_scope,
    value_key,
    with_arguments,
)
from .deferred import DeferPlanning
from .nodes import (
    ContextValue,
    DeferredNode,
    EntityRep,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    RepSel,
    SequenceNode,
    Unalias,
)
from .operation import CField, CFrag, Clause, CSel, has_arguments, parse_field_set
from .schema_view import SchemaView
from .selection import SelSet
from .value_split import FieldSplitter

INTROSPECTION_ROOT_FIELDS = frozenset({"__schema", "__type"})
_MAX_DEPTH = 64


class PlanningError(Exception):
    """The operation cannot be resolved with this supergraph."""


@dataclass(slots=True)
class _Recipe:
    typename: str
    keys: RepSel = field(default_factory=RepSel)
    requires: RepSel = field(default_factory=RepSel)


@dataclass(slots=True)
class _Group:
    id: int
    service: str
    path: tuple[str, ...]
    is_entity: bool
    stage: int
    sel: SelSet
    deps: set[int] = field(default_factory=set)
    reps: dict[str, _Recipe] = field(default_factory=dict)
    part: int | None = None  # the @defer occurrence (Defer.id) this fetch serves; None: the primary part
    context_values: list[ContextValue] = field(default_factory=list)  # @fromContext variables
    origin: _Site | None = None  # the site an entity group was first attached from


@dataclass(frozen=True, slots=True)
class _Site:
    """Where selections are planned: into `target` (a selection set of `group`) at response `path`."""

    group: _Group
    target: SelSet
    path: tuple[str, ...]
    provided: Sequence[CSel] | None = None  # what the parent field's @provides makes local here
    internal: bool = False  # a representation's key or @requires fields, not the client's selections
    rep: RepSel | None = None  # the representation recipe these fields feed, if any
    members: frozenset[str] | None = None  # a union under a shareable field: the members resolved here
    scopes: tuple[Scope, ...] = ()  # the enclosing object positions, outermost first (@fromContext)


def list_depth(type_str: str) -> int:
    return type_str.count("[")


def reserved_keys(selections: Sequence[CSel]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for sel in selections:
        if isinstance(sel, CField):
            out.setdefault(sel.response_key, (sel.name, sel.args))
        else:
            for key, value in reserved_keys(sel.selections).items():
                out.setdefault(key, value)
    return out


class Planner:
    def __init__(
        self,
        supergraph: Supergraph,
        active_labels: frozenset[str] = frozenset(),
        deferred: frozenset[int] = frozenset(),
    ) -> None:
        self.sg = supergraph
        self.view = SchemaView(supergraph, active_labels)
        self.groups: list[_Group] = []
        self._entity_groups: dict[tuple[str, tuple[str, ...], int, str], _Group] = {}
        self._depth = 0
        self._unaliases: dict[int, Unalias | None] = {}
        # the @defer occurrences (Defer.id) planned as deferred parts; the others are inlined
        self.defer = DeferPlanning(deferred)
        self.splitter = FieldSplitter(self.view, self._can_hop)
        self._abstract_positions: dict[int, tuple[SelSet, str, str]] = {}

    # --- entry point -----------------------------------------------------------------------
    def plan(
        self,
        operation_kind: str,
        selections: Sequence[CSel],
        variable_definitions: Mapping[str, VariableDefinitionNode],
        operation_name: str | None = None,
    ) -> QueryPlan:
        root_type = self.sg.root_type(operation_kind)
        if root_type is None:
            raise PlanningError(f"the supergraph has no {operation_kind} root type")
        reserved = reserved_keys(selections)
        roots: list[_Group] = []
        self._plan_root(operation_kind, root_type, selections, "", (), reserved, roots)
        # innermost first: an outer position folds only when its fragments print the same
        for target, type_name, graph in reversed(self._abstract_positions.values()):
            collapse_exploded(target, type_name, graph, self.view)
        # before printing: fields that conflict in their subgraph are sent under internal aliases
        self._unaliases = {
            g.id: alias_conflicts(g.sel, None if g.is_entity else root_type, g.service, self.view) for g in self.groups
        }
        fetch_nodes = {
            g.id: self._fetch_node(g, operation_kind, variable_definitions, operation_name) for g in self.groups
        }
        deferred = tuple(
            DeferredNode(part.id, part.label, part.path, part.depends, self._part_node(part.id, fetch_nodes))
            for part in self.defer.parts.values()
        )
        return QueryPlan(self._part_node(None, fetch_nodes), deferred)

    def _part_node(self, part: int | None, fetch_nodes: dict[int, PlanNode]) -> PlanNode | None:
        """The fetches of one part (the primary: None), scheduled by stage then dependencies."""
        stages: dict[int, list[_Group]] = {}
        for group in self.groups:
            if group.part == part:
                stages.setdefault(group.stage, []).append(group)
        stage_nodes = [self._schedule(stages[s], fetch_nodes) for s in sorted(stages)]
        stage_nodes = [n for n in stage_nodes if not (isinstance(n, SequenceNode) and not n.nodes)]
        if not stage_nodes:
            return None
        if len(stage_nodes) == 1:
            return stage_nodes[0]
        flat: list[PlanNode] = []
        for item in stage_nodes:
            flat.extend(item.nodes if isinstance(item, SequenceNode) else [item])
        return SequenceNode(flat)

    def _plan_root(
        self,
        operation_kind: str,
        root_type: str,
        selections: Sequence[CSel],
        directives: str,
        clause: Clause,
        reserved: dict[str, tuple[str, str]],
        roots: list[_Group],
    ) -> None:
        for sel in selections:
            if isinstance(sel, CFrag):
                if sel.never or not self.view.applies(sel.type_condition, root_type):
                    continue
                if self.defer.is_deferred(sel):
                    # a deferred root fragment: its own root fetches, after the primary part
                    with self.defer.part(sel, (), root_type):
                        self._plan_root(
                            operation_kind,
                            root_type,
                            sel.selections,
                            directives + sel.directives,
                            clause + sel.clause,
                            reserved_keys(sel.selections),
                            [],
                        )
                    continue
                self._plan_root(
                    operation_kind,
                    root_type,
                    sel.selections,
                    directives + sel.directives,
                    clause + sel.clause,
                    reserved,
                    roots,
                )
                continue
            if sel.never or sel.name == "__typename" or sel.name in INTROSPECTION_ROOT_FIELDS:
                continue
            # a shareable root field of a value type is fetched from each subgraph it needs
            remaining: CField | None = sel
            tried: list[str] = []
            while remaining is not None:
                graph = self._choose_root_graph(operation_kind, root_type, remaining, roots, tried)
                tried.append(graph)
                local: CField | None = remaining
                # a mutation runs once, a subscription is one upstream stream: one subgraph each;
                # with no other candidate left, hops must do
                if operation_kind == "query" and self._root_candidates(root_type, remaining, tried):
                    local, remaining = self.splitter.split_field(graph, root_type, remaining, None)
                else:
                    remaining = None
                if local is None:
                    continue
                group = self._root_group(operation_kind, graph, reserved, roots)
                target = group.sel.frag(None, directives, clause) if directives else group.sel
                self._plan_object(_Site(group, target, ()), root_type, (local,))

    def _choose_root_graph(
        self, operation_kind: str, root_type: str, sel: CField, roots: list[_Group], tried: Sequence[str] = ()
    ) -> str:
        fdef = self.view.field(root_type, sel.name)
        if fdef is None:
            raise PlanningError(f"unknown field {root_type}.{sel.name}")
        candidates = self._root_candidates(root_type, sel, tried)
        if not candidates:
            if tried:
                raise PlanningError(
                    f"cannot resolve {root_type}.{sel.name} {_fields_text(sel)}: "
                    f"no other subgraph than {', '.join(repr(t) for t in tried)} returns them"
                )
            raise PlanningError(f"no subgraph can resolve {root_type}.{sel.name}")
        if operation_kind == "mutation" and roots and roots[-1].service in candidates:
            return roots[-1].service
        existing = {g.service for g in roots}

        def score(graph: str) -> tuple[int, int, int]:
            info = fdef.graphs[graph]
            provided = parse_field_set(info.provides) if info.provides else None
            missing = self.view.missing_count(graph, fdef.named_type, sel.selections, provided) if sel.selections else 0
            return (missing, 0 if graph in existing else 1, self.view.graph_order.get(graph, 0))

        return min(candidates, key=score)

    def _root_candidates(self, root_type: str, sel: CField, tried: Sequence[str]) -> list[str]:
        fdef = self.view.field(root_type, sel.name)
        if fdef is None:
            return []
        return [g for g, info in fdef.graphs.items() if self.view.usable(info) and not info.external and g not in tried]

    def _root_group(
        self, operation_kind: str, graph: str, reserved: dict[str, tuple[str, str]], roots: list[_Group]
    ) -> _Group:
        if operation_kind == "mutation":
            if roots and roots[-1].service == graph:
                return roots[-1]
            stage = len(roots)
        else:
            for group in roots:
                if group.service == graph:
                    return group
            stage = 0
        group = _Group(len(self.groups), graph, (), False, stage, SelSet(reserved), part=self.defer.current)
        self.groups.append(group)
        roots.append(group)
        return group

    # --- selection planning ----------------------------------------------------------------
    def _plan_sels(self, site: _Site, type_name: str, sels: Sequence[CSel]) -> set[int]:
        typedef = self.sg.types.get(type_name)
        if typedef is None:
            raise PlanningError(f"unknown type {type_name}")
        if typedef.kind is TypeKind.OBJECT:
            return self._plan_object(site, type_name, sels)
        if typedef.is_interface_object_in(site.group.service):
            return self._plan_interface_object(site, type_name, sels)
        return self._plan_abstract(site, type_name, sels)

    def _plan_abstract(self, site: _Site, type_name: str, sels: Sequence[CSel]) -> set[int]:
        node = site.target.add_field("__typename", internal=True)
        rep = site.rep
        if rep is not None:
            rep.add(node.key, "__typename", False)
        touched = {site.group.id}
        if site.members is None:
            self._abstract_positions.setdefault(id(site.target), (site.target, type_name, site.group.service))
        for member in self.view.possible_in(site.group.service, type_name):
            if site.members is not None and member not in site.members:
                continue
            sub = site.target.frag(member)
            sub_rep = rep.frag(frozenset({member})) if rep is not None else None
            touched |= self._plan_object(replace(site, target=sub, rep=sub_rep, members=None), member, sels)
        return touched

    def _plan_interface_object(self, site: _Site, type_name: str, sels: Sequence[CSel]) -> set[int]:
        """`type_name` is an interface that this subgraph models as an object (@interfaceObject)."""
        local: list[CSel] = []
        remote: list[CSel] = []
        self._split_interface_object(type_name, sels, local, remote)
        touched = self._plan_object(site, type_name, local)
        if remote:
            owner = self._interface_owner(type_name, site.group.service)
            child = self._entity_group(owner, site.path, site.group, "")
            touched |= self._attach(child, site, type_name, type_name, remote, None)
        return touched

    def _split_interface_object(
        self, type_name: str, sels: Sequence[CSel], local: list[CSel], remote: list[CSel]
    ) -> None:
        for sel in sels:
            if isinstance(sel, CFrag):
                if sel.type_condition not in (None, type_name):
                    remote.append(sel)
                elif not sel.directives:
                    self._split_interface_object(type_name, sel.selections, local, remote)
                else:  # a conditional fragment on the interface itself: split it, keeping its condition
                    sub_local: list[CSel] = []
                    sub_remote: list[CSel] = []
                    self._split_interface_object(type_name, sel.selections, sub_local, sub_remote)
                    if sub_local:
                        local.append(replace(sel, selections=tuple(sub_local)))
                    if sub_remote:
                        remote.append(replace(sel, selections=tuple(sub_remote)))
            elif sel.name == "__typename":
                remote.append(sel)
            else:
                local.append(sel)

    def _interface_owner(self, interface: str, avoid: str) -> str:
        typedef = self.sg.types[interface]
        for graph, info in typedef.graphs.items():
            if graph != avoid and not info.is_interface_object and self.view.resolvable_keys(interface, graph):
                return graph
        raise PlanningError(f"no subgraph can resolve the concrete type of interface {interface}")

    def _plan_object(self, site: _Site, type_name: str, sels: Sequence[CSel]) -> set[int]:
        graph, target, provided, internal = site.group.service, site.target, site.provided, site.internal
        touched = {site.group.id}
        pending: list[CField] = []
        for sel in sels:
            if sel.never:
                continue
            if isinstance(sel, CFrag):
                if not self.view.applies(sel.type_condition, type_name):
                    continue
                if self.defer.is_deferred(sel) and not internal:
                    touched |= self._plan_deferred(site, type_name, sel)
                    continue
                sub = replace(site, target=target.frag(None, sel.directives, sel.clause)) if sel.directives else site
                touched |= self._plan_object(sub, type_name, sel.selections)
                continue
            if sel.name == "__typename":
                node = target.add_field(
                    "__typename",
                    key=None if internal else sel.response_key,
                    directives="" if internal else sel.directives,
                    variables=sel.variables,
                    internal=internal,
                    clause=None if internal else sel.clause,
                )
                if site.rep is not None:
                    site.rep.add(node.key, "__typename", False)
                continue
            contextual = contextual_graphs(self.sg, type_name, sel.name) if not internal else None
            if contextual:
                touched |= self._plan_contextual(site, type_name, sel, contextual)
            elif not self.view.is_local(graph, type_name, sel.name, provided) and not self._echoed_key(
                site, type_name, sel.name
            ):
                pending.append(sel)
            elif self._subtree_ok(graph, type_name, sel, provided):
                touched |= self._add_local(site, type_name, sel)
            elif self._whole_elsewhere(graph, type_name, sel):
                pending.append(sel)
            else:
                # a value type spread over subgraphs: its missing fields re-enter through this entity
                local, rest = self.splitter.split_field(graph, type_name, sel, provided)
                if local is not None:
                    touched |= self._add_local(site, type_name, local)
                if rest is not None:
                    pending.append(rest)
        if pending:
            touched |= self._plan_jumps(site, type_name, pending)
        return touched

    def _subtree_ok(self, graph: str, type_name: str, sel: CField, provided: Sequence[CSel] | None) -> bool:
        """False when `sel` is local but selects, below it, fields of key-less (value) types that `graph`
        cannot return: nothing could fetch those later, so the field must come from another subgraph."""
        if not sel.selections:
            return True
        fdef = self.view.field(type_name, sel.name)
        if fdef is None or not self.view.is_keyless(fdef.named_type):
            return True
        if not self._has_other_source(graph, type_name, sel.name):
            return True
        child_provided = self._child_provided(graph, type_name, fdef, provided)
        named = self.view.named_type_in(type_name, sel.name, graph) or fdef.named_type
        return self.view.fieldset_local(graph, named, sel.selections, child_provided)

    def _echoed_key(self, site: _Site, type_name: str, field_name: str) -> bool:
        """An external key field, read for a further hop, at the entity an `_entities` fetch of this
        subgraph starts from: the representation carries it, so the subgraph echoes it back."""
        group = site.group
        return (
            site.internal
            and group.is_entity
            and site.path == group.path
            and field_name in self.view.key_field_names(type_name, group.service)
        )

    def _can_hop(self, graph: str, type_name: str, field_name: str, provided: Sequence[CSel] | None) -> bool:
        """Whether `graph` can hand an object of `type_name` to a subgraph resolving `field_name` (a key
        of it that `graph` returns itself)."""
        if self.sg.types[type_name].is_interface_object_in(graph):
            return True
        for other, via, info in self._jump_candidates(type_name, field_name):
            if other == graph and info.requires is None:
                continue
            for key in self.view.resolvable_keys(via, other):
                if self.view.fieldset_local(graph, type_name, parse_field_set(key.fields), provided):
                    return True
        return False

    def _whole_elsewhere(self, graph: str, type_name: str, sel: CField) -> bool:
        """Whether another subgraph, reached by an entity hop, returns all of `sel` itself."""
        fdef = self.view.field(type_name, sel.name)
        if fdef is None or not sel.selections:
            return False
        for other, _via, info in self._jump_candidates(type_name, sel.name):
            if other == graph:
                continue
            provided = parse_field_set(info.provides) if info.provides else None
            if self.view.fieldset_local(other, fdef.named_type, sel.selections, provided):
                return True
        return False

    def _child_provided(
        self, graph: str, type_name: str, fdef: FieldDef, provided: Sequence[CSel] | None
    ) -> tuple[CSel, ...] | None:
        """What is local below `type_name.<fdef>` in `graph`: the enclosing @provides narrowed to the
        field, plus the field's own @provides there."""
        child_provided = self.view.child_provided(provided, type_name, fdef.name)
        info = fdef.graphs.get(graph)
        if info is not None and info.provides:
            child_provided += parse_field_set(info.provides)
        return child_provided or None

    def _has_other_source(self, graph: str, type_name: str, field_name: str) -> bool:
        return any(candidate[0] != graph for candidate in self._jump_candidates(type_name, field_name))

    def _add_local(self, site: _Site, type_name: str, sel: CField) -> set[int]:
        fdef = self.view.field(type_name, sel.name)
        assert fdef is not None
        composite = sel.selections is not None
        internal = site.internal
        node = site.target.add_field(
            sel.name,
            sel.args,
            key=None if internal else sel.response_key,
            directives="" if internal else sel.directives,
            variables=sel.variables,
            composite=composite,
            internal=internal,
            clause=None if internal else sel.clause,
        )
        sub_rep = site.rep.add(node.key, sel.name, composite) if site.rep is not None else None
        if not composite or sel.selections is None:
            return {site.group.id}
        assert node.sub is not None
        if not internal and node.sub.reserved is None:
            node.sub.reserved = reserved_keys(sel.selections)
        child = _Site(
            site.group,
            node.sub,
            site.path + (node.key,) + ("@",) * list_depth(fdef.type_str),
            self._child_provided(site.group.service, type_name, fdef, site.provided),
            internal,
            sub_rep,
            self.view.shared_union_members(type_name, sel.name),
            (*site.scopes, Scope(type_name, site)),
        )
        return self._plan_sels(child, self._local_named_type(child, type_name, fdef), sel.selections)

    def _local_named_type(self, site: _Site, type_name: str, fdef: FieldDef) -> str:
        """The field's named type in the site's subgraph (`@join__field(type:)`): selections are planned
        against it, so that a `Book`-typed field is not sent `... on Song`. A narrower object type
        still gets `__typename`, which the shaper needs at an abstract position."""
        named = self.view.named_type_in(type_name, fdef.name, site.group.service) or fdef.named_type
        if named != fdef.named_type and not self.view.is_abstract(named) and self.view.is_abstract(fdef.named_type):
            node = site.target.add_field("__typename", internal=True)
            if site.rep is not None:
                site.rep.add(node.key, "__typename", False)
        return named

    # --- entity hops -----------------------------------------------------------------------
    def _plan_jumps(self, site: _Site, type_name: str, fields: Sequence[CField]) -> set[int]:
        group, provided = site.group, site.provided
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            raise PlanningError(f"cannot find a way to resolve fields of {type_name} (cyclic keys?)")
        try:
            touched: set[int] = set()
            plain: dict[tuple[str, str], list[CField]] = {}
            with_requires: list[tuple[str, str, CField, str, str]] = []
            for sel in fields:
                graph, via, info = self._choose_jump(group, type_name, sel, provided, plain)
                if info.requires:
                    # required fields the parent returns itself keep the hop in the shared group
                    local = self.view.fieldset_local(group.service, type_name, parse_field_set(info.requires), provided)
                    tag = "" if local else f"requires:{via}.{sel.name}"
                    if local and has_arguments(parse_field_set(info.requires)):
                        # a representation holds one value per field name: `price(currency: "USD")` and
                        # `price(currency: "EUR")` need their own fetches (same field set: shared)
                        tag = f"requires-args:{via}:{info.requires}"
                    with_requires.append((graph, via, sel, info.requires, tag))
                else:
                    plain.setdefault((graph, via), []).append(sel)
            for (graph, via), sels in plain.items():
                child = self._entity_group(graph, site.path, group, "")
                touched |= self._attach(child, site, type_name, via, sels, None)
            for graph, via, sel, requires, tag in with_requires:
                child = self._entity_group(graph, site.path, group, tag)
                touched |= self._attach(child, site, type_name, via, [sel], requires)
            return touched
        finally:
            self._depth -= 1

    def _jump_candidates(self, type_name: str, field_name: str) -> list[tuple[str, str, FieldInGraph]]:
        """(graph, type the entity is fetched as, join__field info) options for an entity hop."""
        out: list[tuple[str, str, FieldInGraph]] = []
        fdef = self.view.field(type_name, field_name)
        if fdef is not None:
            for graph, info in fdef.graphs.items():
                if info.external or not self.view.usable(info):
                    continue
                if self.view.resolvable_keys(type_name, graph):
                    out.append((graph, type_name, info))
        if self.sg.types[type_name].kind is TypeKind.OBJECT:
            for interface in self.view.interfaces_of(type_name):
                idef = self.sg.types[interface]
                ifield = idef.fields.get(field_name)
                if ifield is None:
                    continue
                for graph, info in ifield.graphs.items():
                    if (
                        idef.is_interface_object_in(graph)
                        and not info.external
                        and self.view.usable(info)
                        and self.view.resolvable_keys(interface, graph)
                    ):
                        out.append((graph, interface, info))
        return out

    def _choose_jump(
        self,
        group: _Group,
        type_name: str,
        sel: CField,
        provided: Sequence[CSel] | None,
        assigned: Mapping[tuple[str, str], list[CField]],
    ) -> tuple[str, str, FieldInGraph]:
        candidates = [
            c for c in self._jump_candidates(type_name, sel.name) if c[0] != group.service or c[2].requires is not None
        ]
        if not candidates:
            stranded = self._non_resolvable_interface_objects(type_name, sel.name)
            if stranded:
                raise PlanningError(
                    f"cannot resolve field {type_name}.{sel.name} from subgraph {group.service!r}: only "
                    + ", ".join(f"subgraph {g!r} (@interfaceObject {i})" for g, i in stranded)
                    + " has it, with no resolvable key (resolvable: false), so no entity fetch can enter there"
                )
            raise PlanningError(
                f"cannot resolve field {type_name}.{sel.name} from subgraph {group.service!r}: "
                "no other subgraph resolves it through an entity key"
            )

        def score(candidate: tuple[str, str, FieldInGraph]) -> tuple[int, int, int, int, int]:
            graph, via, info = candidate
            direct = any(
                self.view.fieldset_local(group.service, type_name, parse_field_set(k.fields), provided)
                for k in self.view.resolvable_keys(via, graph)
            )
            missing = 0
            if sel.selections:
                fdef = self.view.field(via, sel.name)
                if fdef is not None:
                    child_provided = parse_field_set(info.provides) if info.provides else None
                    missing = self.view.missing_count(graph, fdef.named_type, sel.selections, child_provided)
            return (
                0 if direct else 1,
                missing,
                0 if (graph, via) in assigned else 1,
                1 if info.requires else 0,
                self.view.graph_order.get(graph, 0),
            )

        return min(candidates, key=score)

    def _non_resolvable_interface_objects(self, type_name: str, field_name: str) -> list[tuple[str, str]]:
        """(graph, interface) pairs where an @interfaceObject without a resolvable key has the field."""
        out: list[tuple[str, str]] = []
        interfaces = (type_name,) if self.view.is_abstract(type_name) else self.view.interfaces_of(type_name)
        for interface in interfaces:
            ifield = self.view.field(interface, field_name)
            if ifield is None:
                continue
            for graph, info in ifield.graphs.items():
                if (
                    self.sg.types[interface].is_interface_object_in(graph)
                    and not info.external
                    and not self.view.resolvable_keys(interface, graph)
                ):
                    out.append((graph, interface))
        return out

    def _choose_key(self, graph: str, via: str, source: str, type_name: str, provided: Sequence[CSel] | None) -> Key:
        keys = self.view.resolvable_keys(via, graph)
        if not keys:
            raise PlanningError(f"type {via} has no resolvable key in subgraph {graph!r}")
        for key in keys:
            if self.view.fieldset_local(source, type_name, parse_field_set(key.fields), provided):
                return key
        return keys[0]

    # --- @defer ---------------------------------------------------------------------------
    def _plan_deferred(self, site: _Site, type_name: str, frag: CFrag) -> set[int]:
        """A deferred fragment on an entity: an `_entities` fetch of its own part, whose representation
        the enclosing fetch returns. A type without a resolvable key is fetched with the enclosing
        fetch (nothing could fetch it later) and only delivered later."""
        inline = replace(frag, defer=None)
        graph = self._defer_graph(site.group.service, type_name, frag.selections, site.provided)
        with self.defer.part(frag, site.path, type_name) as part:
            if graph is None:
                return self._plan_object(site, type_name, (inline,))
            child = self._entity_group(graph, site.path, site.group, f"defer:{part}", part)
            return self._attach(child, site, type_name, type_name, (inline,), None)

    def _defer_graph(
        self, current: str, type_name: str, sels: Sequence[CSel], provided: Sequence[CSel] | None
    ) -> str | None:
        """The subgraph to fetch a deferred fragment on `type_name` from: among those resolving it by a
        key, preferably one the current subgraph returns, the one missing the fewest of the fragment's
        fields, the current one on a tie. None: no subgraph resolves the type by a key."""
        typedef = self.sg.types.get(type_name)
        if typedef is None or typedef.kind is not TypeKind.OBJECT:
            return None
        candidates = []
        for graph in typedef.graphs:
            keys = self.view.resolvable_keys(type_name, graph)
            if not keys:
                continue
            direct = any(
                self.view.fieldset_local(current, type_name, parse_field_set(k.fields), provided) for k in keys
            )
            missing = self.view.missing_count(graph, type_name, sels, None)
            order = self.view.graph_order.get(graph, 0)
            candidates.append((0 if direct else 1, missing, 0 if graph == current else 1, order, graph))
        return min(candidates)[4] if candidates else None

    def _entity_group(
        self, graph: str, path: tuple[str, ...], parent: _Group, tag: str, part: int | None = None
    ) -> _Group:
        ident = (graph, path, parent.id, tag)
        group = self._entity_groups.get(ident)
        if group is None:
            group = _Group(
                len(self.groups),
                graph,
                path,
                True,
                parent.stage,
                SelSet(),
                part=parent.part if part is None else part,
            )
            self.groups.append(group)
            self._entity_groups[ident] = group
        return group

    def _attach(
        self,
        child: _Group,
        site: _Site,
        type_name: str,
        via: str,
        sels: Sequence[CSel],
        requires: str | None,
        local: bool = False,
    ) -> set[int]:
        """Make `child` fetch `sels` for the objects of `type_name` that the group of `site` returns there."""
        key = self._choose_key(child.service, via, site.group.service, type_name, site.provided)
        site.target.add_field("__typename", internal=True)
        runtime_types = {type_name}
        if self.view.is_abstract(type_name):
            runtime_types |= self.sg.possible_types.get(type_name, frozenset())
        recipes = []
        for runtime in sorted(runtime_types):
            recipe = child.reps.get(runtime)
            if recipe is None:
                recipe = _Recipe(via)
                child.reps[runtime] = recipe
            recipes.append(recipe)
        recipe = recipes[0]
        # the representation's fields are internal selections of the parent group
        deps = self._plan_sels(replace(site, internal=True, rep=recipe.keys), type_name, parse_field_set(key.fields))
        if requires:
            deps |= self._plan_sels(
                replace(site, internal=True, rep=recipe.requires), type_name, parse_field_set(requires)
            )
        for other in recipes[1:]:
            other.keys = recipe.keys
            other.requires = recipe.requires
        child.deps |= deps
        if child.origin is None:
            child.origin = site
        child_target = child.sel.frag(via)
        if child_target.reserved is None:
            child_target.reserved = site.target.reserved
        child_site = _Site(child, child_target, site.path, None, site.internal, site.rep, scopes=site.scopes)
        if requires or local:
            # the representation carries the required fields, so the field resolves right here
            (sel,) = sels
            assert isinstance(sel, CField)
            return self._add_local(child_site, via, sel) | {child.id}
        return self._plan_sels(child_site, via, sels)

    def _plan_contextual(
        self, site: _Site, type_name: str, sel: CField, contextual: Mapping[str, FieldInGraph]
    ) -> set[int]:
        """A field with @fromContext arguments, its contextual variables selected on the nearest
        enclosing position setting each context. As @apollo/query-planner: the field stays in the
        current entity fetch when every value can be fetched before it (the context is that fetch's
        entity, or above it); otherwise it gets an entity fetch of its own."""
        view = self.view
        graphs = [g for g, info in contextual.items() if view.usable(info) and view.resolvable_keys(type_name, g)]
        if not graphs:
            raise PlanningError(f"no subgraph can resolve {type_name}.{sel.name} with its context through a key")
        group = site.group
        graph = group.service
        if graph not in graphs:
            graph = min(graphs, key=lambda g: view.graph_order.get(g, 0))
        bindings: list[tuple[ContextArgument, Scope, _Site | None]] = []
        for argument in contextual[graph].context_arguments:
            scope = nearest_scope(self.sg, site.scopes, argument.context)
            if scope is None:
                where = f"{type_name}.{sel.name}"
                raise PlanningError(f"no enclosing position of {where} sets context {argument.context!r}")
            earlier = self._fetched_before(group, scope, context_selection(argument.selection))
            bindings.append((argument, scope, earlier))
        in_place = group.is_entity and graph == group.service and all(e is not None for _, _, e in bindings)
        target = (
            group
            if in_place
            else self._entity_group(graph, site.path, group, f"context:{type_name}.{sel.name}.{sel.response_key}")
        )
        touched: set[int] = set()
        arguments: dict[str, str] = {}
        for argument, scope, earlier in bindings:
            rep = RepSel()
            at = earlier if in_place and earlier is not None else scope.site
            touched |= self._plan_sels(
                replace(at, internal=True, rep=rep), scope.type_name, context_selection(argument.selection)
            )
            key = value_key(rep)
            if key is None:
                raise PlanningError(f"the context selection of {type_name}.{sel.name}({argument.name}:) is empty")
            path = scope.site.path
            value = ContextValue("", argument.type, data_depth(path), rep, key, path)
            same = next((v for v in target.context_values if replace(v, variable="") == value), None)
            if same is None:  # the same value for several fields is one variable
                same = replace(value, variable=f"contextualArgument_{target.id}_{len(target.context_values)}")
                target.context_values.append(same)
            arguments[argument.name] = same.variable
        target.deps |= touched - {target.id}
        bound = replace(sel, args=with_arguments(sel.args, arguments))
        if in_place:
            return touched | self._add_local(site, type_name, bound)
        return touched | self._attach(target, site, type_name, type_name, [bound], None, local=True)

    def _fetched_before(self, group: _Group, scope: Scope, selection: Sequence[CSel]) -> _Site | None:
        """Where a context value can be selected so that it is known before `group` runs: the
        ancestor's own site in an earlier fetch, or, when the ancestor is `group`'s entity, the site
        `group` hangs from (as a @requires would); only where the fetch there returns it itself."""
        candidate: _Site | None = None
        if scope.site.group is not group:
            candidate = scope.site
        elif group.is_entity and scope.site.path == group.path:
            candidate = group.origin
        if candidate is None:
            return None
        local = self.view.fieldset_local(candidate.group.service, scope.type_name, selection, candidate.provided)
        return candidate if local else None

    # --- output ----------------------------------------------------------------------------
    def _schedule(self, groups: list[_Group], fetch_nodes: dict[int, PlanNode]) -> PlanNode:
        ids = {g.id for g in groups}
        by_id = {g.id: g for g in groups}
        levels: dict[int, int] = {}

        def level(gid: int, seen: frozenset[int]) -> int:
            if gid in levels:
                return levels[gid]
            if gid in seen:
                raise PlanningError("cyclic dependency between subgraph fetches")
            deps = [d for d in by_id[gid].deps if d in ids and d != gid]
            value = 0 if not deps else 1 + max(level(d, seen | {gid}) for d in deps)
            levels[gid] = value
            return value

        for g in groups:
            level(g.id, frozenset())
        buckets: dict[int, list[PlanNode]] = {}
        for g in groups:
            if g.sel.is_empty():
                continue
            buckets.setdefault(levels[g.id], []).append(fetch_nodes[g.id])
        steps: list[PlanNode] = []
        for lvl in sorted(buckets):
            nodes = buckets[lvl]
            steps.append(nodes[0] if len(nodes) == 1 else ParallelNode(nodes))
        if len(steps) == 1:
            return steps[0]
        return SequenceNode(steps)

    def _fetch_node(
        self,
        group: _Group,
        operation_kind: str,
        variable_definitions: Mapping[str, VariableDefinitionNode],
        operation_name: str | None,
    ) -> PlanNode:
        used = group.sel.variables()
        usages = tuple(name for name in variable_definitions if name in used)
        var_defs = [print_ast(variable_definitions[name]) for name in usages]
        var_defs += [f"${value.variable}: {value.type}" for value in group.context_values]
        name = f"{operation_name}__{group.service}__{group.id}" if operation_name else ""
        input_rewrites = self._input_rewrites(group.service, usages, variable_definitions)
        if group.is_entity:
            var_text = ", ".join(["$representations: [_Any!]!", *var_defs])
            operation = (
                f"query {name}({var_text}) {{ _entities(representations: $representations) "
                f"{group.sel.print_compact()} }}"
            ).replace("query (", "query(")
            reps = {
                runtime: EntityRep(recipe.typename, recipe.keys, recipe.requires)
                for runtime, recipe in group.reps.items()
            }
            fetch = FetchNode(
                id=group.id,
                service=group.service,
                operation=operation,
                operation_kind="query",
                variable_usages=usages,
                selection_text=group.sel.print_pretty(0),
                requires_text=_requires_text(group.reps),
                entity_reps=reps,
                input_rewrites=input_rewrites,
                conditions=_conditions(group.sel),
                unalias=self._unaliases.get(group.id),
                context_values=tuple(group.context_values),
                operation_name=name,
            )
            return FlattenNode(group.path, fetch)
        header = operation_kind
        if name:
            header += " " + name
        if var_defs:
            header += "(" + ", ".join(var_defs) + ")"
        return FetchNode(
            id=group.id,
            service=group.service,
            operation=f"{header} {group.sel.print_compact()}",
            operation_kind=operation_kind,
            variable_usages=usages,
            selection_text=group.sel.print_pretty(0),
            input_rewrites=input_rewrites,
            conditions=_conditions(group.sel),
            unalias=self._unaliases.get(group.id),
            operation_name=name,
        )

    def _input_rewrites(
        self, graph: str, usages: Sequence[str], variable_definitions: Mapping[str, VariableDefinitionNode]
    ) -> dict[str, str] | None:
        from ..supergraph.parse import named_type_of

        out: dict[str, str] = {}
        for name in usages:
            type_name = named_type_of(variable_definitions[name].type)
            if _input_needs_pruning(self.sg, type_name, graph, set()):
                out[name] = type_name
        return out or None


def _fields_text(sel: CField) -> str:
    return "{ " + " ".join(_names(sel.selections or ())) + " }"


def _names(sels: Sequence[CSel]) -> list[str]:
    out: list[str] = []
    for sel in sels:
        if isinstance(sel, CField):
            out.append(sel.name if not sel.selections else f"{sel.name} {{ {' '.join(_names(sel.selections))} }}")
        else:
            out.extend(_names(sel.selections))
    return out


def _conditions(sel: SelSet) -> tuple[Clause, ...] | None:
    clauses = sel.conditions()
    return None if clauses is None else tuple(dict.fromkeys(clauses))


def _input_needs_pruning(sg: Supergraph, type_name: str, graph: str, seen: set[str]) -> bool:
    typedef = sg.types.get(type_name)
    if typedef is None or typedef.kind is not TypeKind.INPUT_OBJECT or type_name in seen:
        return False
    seen.add(type_name)
    for fdef in typedef.fields.values():
        if fdef.graphs and graph not in fdef.graphs:
            return True
        if _input_needs_pruning(sg, fdef.named_type, graph, seen):
            return True
    return False


def _requires_text(reps: Mapping[str, _Recipe]) -> str:
    by_typename: dict[str, _Recipe] = {}
    for recipe in reps.values():
        by_typename.setdefault(recipe.typename, recipe)
    lines = ["{"]
    for typename, recipe in by_typename.items():
        lines.append(f"  ... on {typename} {{")
        lines.append("    __typename")
        _rep_lines(recipe.keys, lines, 2, {"__typename"})
        _rep_lines(recipe.requires, lines, 2, {"__typename", *(f[1] for f in recipe.keys.fields)})
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def _rep_lines(sel: RepSel, lines: list[str], depth: int, skip: set[str]) -> None:
    pad = "  " * depth
    for _, rep_key, sub in sel.fields:
        if rep_key in skip:
            continue
        if sub is None:
            lines.append(pad + rep_key)
        else:
            lines.append(pad + rep_key + " {")
            _rep_lines(sub, lines, depth + 1, set())
            lines.append(pad + "}")
    for typenames, sub in sel.frags:
        lines.append(pad + "... on " + "|".join(sorted(typenames)) + " {")
        _rep_lines(sub, lines, depth + 1, set())
        lines.append(pad + "}")
