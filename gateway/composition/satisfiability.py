"""A basic satisfiability check: every field of every type a query can reach must be resolvable.

Walks the supergraph's types from the roots, as Apollo's validation does: a point of a query is a
supergraph type plus the set of subgraph states (type, subgraph, provided selections) the query can be
in there. Following a field or a type condition advances every state, directly or after entity jumps
through resolvable keys; a field is an error only when no state can resolve it, since the query planner
is free to take whichever path works (e.g. fetch `address { street }` from the owning subgraph when a
@provides only covers `address { city }`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import CompositionIssue
from .fieldset import Selection, parse_field_set
from .model import ROOT_NAMES, Kind, Subgraph, TypeDef
from .supergraph_model import Supergraph

Provided = tuple[Selection, ...]
_COMPOSITE = (Kind.OBJECT, Kind.INTERFACE, Kind.UNION)
_Guard = frozenset[tuple[str, str, str]]  # (type, field, subgraph) whose @requires is being resolved


@dataclass(frozen=True)
class _State:
    type_name: str
    subgraph: str
    provided: Provided = ()
    # after a type condition on an @interfaceObject: the implementation the value is known to be, though
    # the subgraph only knows the interface object (Apollo's "fake downcast")
    runtime: str | None = None


@dataclass(frozen=True)
class _Node:
    """A point of a supergraph query: its supergraph type and every subgraph state it can be in."""

    type_name: str
    options: tuple[_State, ...]


@dataclass(frozen=True)
class _Step:
    previous: _Node | None
    text: str | None  # a field name or "... on T"; None at a root


_MAX_ENUMERATED_LABELS = 4


def check_satisfiability(subgraphs: Sequence[Subgraph], supergraph: Supergraph) -> list[CompositionIssue]:
    """Every query must be satisfiable whichever progressive @override labels are on (as Apollo checks
    with each label true and false): every assignment of up to 4 labels, else all on and all off."""
    labels = sorted(
        {
            f.override_label
            for sub in subgraphs
            for tdef in sub.types.values()
            for f in tdef.fields.values()
            if f.override_label is not None and f.override_from in {s.name for s in subgraphs}
        }
    )
    if len(labels) <= _MAX_ENUMERATED_LABELS:
        assignments = [frozenset(x for i, x in enumerate(labels) if mask >> i & 1) for mask in range(2 ** len(labels))]
    else:
        assignments = [frozenset(labels), frozenset()]
    issues: dict[str | None, CompositionIssue] = {}
    for labels_on in assignments:
        for issue in _Checker(subgraphs, supergraph, labels_on).run():
            issues.setdefault(issue.coordinate, issue)
    return list(issues.values())


class _Checker:
    def __init__(self, subgraphs: Sequence[Subgraph], supergraph: Supergraph, labels_on: frozenset[str]) -> None:
        self.subs = {s.name: s for s in subgraphs}
        self.supergraph = supergraph
        self.overridden: set[tuple[str, str, str]] = set()  # (type, field, subgraph) no longer resolving it
        for sub in subgraphs:
            for tdef in sub.types.values():
                for f in tdef.fields.values():
                    origin = f.override_from
                    if not origin or origin == sub.name or origin not in self.subs:
                        continue
                    if f.override_label is None or f.override_label in labels_on:
                        self.overridden.add((tdef.name, f.name, origin))
                    else:  # a progressive override that is off: the source subgraph still resolves it
                        self.overridden.add((tdef.name, f.name, sub.name))
        self.steps: dict[_Node, _Step] = {}
        self._visits: dict[str, list[frozenset[_State]]] = {}
        self._jump_cache: dict[_State, list[_State]] = {}
        self._closure_cache: dict[_State, list[_State]] = {}
        self._requires_cache: dict[tuple[_State, str], bool] = {}
        self._computing: set[_State] = set()  # states whose jumps are being worked out

    # -- exploration -------------------------------------------------------------------------
    def run(self) -> list[CompositionIssue]:
        queue: deque[_Node] = deque()
        for operation, root_name in ROOT_NAMES.items():
            roots = tuple(_State(s.roots[operation], s.name) for s in self.subs.values() if operation in s.roots)
            if roots:
                self._visit(_Node(root_name, roots), _Step(None, None), queue)
        issues: dict[str, CompositionIssue] = {}
        while queue:
            node = queue.popleft()
            for coordinate, issue in self._check_node(node).items():
                issues.setdefault(coordinate, issue)
            for next_node, step in self._edges(node):
                self._visit(next_node, step, queue)
        return list(issues.values())

    def _visit(self, node: _Node, step: _Step, queue: deque[_Node]) -> None:
        # As Apollo: a point already checked with a subset of these options needs no new check, since
        # more options can only make more fields resolvable. This also bounds the exploration.
        options = frozenset(node.options)
        visits = self._visits.setdefault(node.type_name, [])
        if any(previous <= options for previous in visits):
            return
        visits.append(options)
        self.steps[node] = step
        queue.append(node)

    def _edges(self, node: _Node) -> list[tuple[_Node, _Step]]:
        stype = self.supergraph.types.get(node.type_name)
        edges: list[tuple[_Node, _Step]] = []
        if stype is None:
            return edges
        for sfield in stype.fields.values():
            target = self.supergraph.types.get(sfield.type.base)
            if sfield.deco.inaccessible or target is None or target.kind not in _COMPOSITE:
                continue
            children = self._advance_field(node.options, sfield.name)
            if children:
                edges.append((_Node(target.name, children), _Step(node, sfield.name)))
        if stype.kind in (Kind.INTERFACE, Kind.UNION):
            for type_name, children in self._advance_downcasts(node).items():
                edges.append((_Node(type_name, children), _Step(node, f"... on {type_name}")))
        return edges

    def _advance_field(self, options: Iterable[_State], field_name: str) -> tuple[_State, ...]:
        """The states reached by selecting a composite field from any of `options` (or after a jump)."""
        out: list[_State] = []
        for candidate in self._closure_of_all(options):
            sub = self.subs[candidate.subgraph]
            tdef = sub.type(candidate.type_name)
            f = tdef.fields.get(field_name) if tdef else None
            if tdef is None or f is None or not self._resolves(sub, tdef, field_name, candidate.provided):
                continue
            target = sub.type(f.type.base)
            if target is None or not target.is_composite or not self._requires_ok(candidate, tdef, field_name):
                continue
            child = parse_field_set(f.provides) or () if f.provides else _provided_children(candidate.provided, f.name)
            out.append(_State(target.name, sub.name, child))
        return tuple(dict.fromkeys(out))

    def _advance_downcasts(self, node: _Node) -> dict[str, tuple[_State, ...]]:
        """Per runtime type, the states a type condition on it reaches from `node`'s abstract type."""
        by_type: dict[str, list[_State]] = {}
        for candidate in self._closure_of_all(node.options):
            sub = self.subs[candidate.subgraph]
            tdef = sub.type(candidate.type_name)
            if tdef is None:
                continue
            if tdef.interface_object:
                # The subgraph cannot tell the implementations apart but still resolves its own fields
                # for any of them: the state stays, knowing its runtime type.
                if candidate.runtime is None and tdef.name == node.type_name:
                    for impl in self._implementations(tdef.name):
                        narrowed = _State(tdef.name, sub.name, _narrow(candidate.provided, impl), impl)
                        by_type.setdefault(impl, []).append(narrowed)
                continue
            if tdef.kind in (Kind.INTERFACE, Kind.UNION):
                for possible in sub.possible_types(tdef.name):
                    narrowed = _State(possible.name, sub.name, _narrow(candidate.provided, possible.name))
                    by_type.setdefault(possible.name, []).append(narrowed)
            elif tdef.kind == Kind.OBJECT and tdef.name != node.type_name and self._is_runtime_type(node, tdef.name):
                by_type.setdefault(tdef.name, []).append(candidate)  # already that runtime type here
        return {name: tuple(dict.fromkeys(states)) for name, states in by_type.items()}

    def _implementations(self, interface: str) -> list[str]:
        return [
            t.name for t in self.supergraph.types.values() if t.kind == Kind.OBJECT and interface in t.interfaces
        ]

    def _is_runtime_type(self, node: _Node, type_name: str) -> bool:
        abstract = self.supergraph.types.get(node.type_name)
        concrete = self.supergraph.types.get(type_name)
        if abstract is None or concrete is None:
            return False
        return node.type_name in concrete.interfaces or type_name in abstract.members

    def _closure_of_all(self, options: Iterable[_State]) -> list[_State]:
        return list(dict.fromkeys(c for option in options for c in self._closure(option)))

    def _jumps(self, state: _State) -> list[_State]:
        """States reachable by an entity fetch: another subgraph's resolvable key, collectable from here.

        A key this subgraph cannot provide alone may still be collected from several subgraphs (e.g.
        `customer { id region }` with `region` in a third one), as Apollo's key condition resolver plans
        a sub-query: that check re-enters this method, and a state whose jumps are being worked out
        then gets only its locally collectable ones (results found meanwhile are not cached).
        """
        cached = self._jump_cache.get(state)
        if cached is not None:
            return cached
        if state in self._computing:
            return self._compute_jumps(state, local_only=True)
        self._computing.add(state)
        try:
            result = self._compute_jumps(state)
        finally:
            self._computing.discard(state)
        if not self._computing:
            self._jump_cache[state] = result
        return result

    def _compute_jumps(self, state: _State, *, local_only: bool = False) -> list[_State]:
        sub = self.subs[state.subgraph]
        tdef = sub.type(state.type_name)
        if tdef is None or tdef.name in ROOT_NAMES.values():
            return []
        candidates = [tdef.name]
        if tdef.kind == Kind.OBJECT and not tdef.interface_object:
            candidates += self._supergraph_interfaces(tdef.name)
        if state.runtime is not None:
            candidates.append(state.runtime)  # the implementation itself, where another subgraph has it
        out: list[_State] = []
        for other in self.subs.values():
            if other.name == sub.name:
                continue
            for name in candidates:
                target = other.type(name)
                if target is None or (name not in (tdef.name, state.runtime) and not target.interface_object):
                    continue
                keys = [k for k in target.keys if k.resolvable]
                if any(self._collectable(sub, tdef, k.fields, state.provided) for k in keys) or (
                    not local_only and any(self._key_fetchable(state, k.fields) for k in keys)
                ):
                    out.append(_State(name, other.name))
        return out

    def _key_fetchable(self, state: _State, fields: str) -> bool:
        selections = parse_field_set(fields)
        return selections is not None and self._fetchable((state,), selections, frozenset())

    def _supergraph_interfaces(self, type_name: str) -> list[str]:
        stype = self.supergraph.types.get(type_name)
        return list(stype.interfaces) if stype else []

    # -- resolution tests ------------------------------------------------------------------------
    def _resolves(self, sub: Subgraph, tdef: TypeDef, field_name: str, provided: Provided) -> bool:
        f = tdef.fields.get(field_name)
        if f is None or (tdef.name, field_name, sub.name) in self.overridden:
            return False
        if f.external:
            return any(s.name == field_name and s.type_condition is None for s in provided)
        return True

    def _collectable(self, sub: Subgraph, tdef: TypeDef, fields: str, provided: Provided) -> bool:
        selections = parse_field_set(fields)
        return selections is not None and self._collect(sub, tdef, selections, provided)

    def _collect(self, sub: Subgraph, tdef: TypeDef, selections: Provided, provided: Provided) -> bool:
        for sel in selections:
            if sel.type_condition is not None or sel.name == "__typename":
                continue
            f = tdef.fields.get(sel.name)
            if f is None:
                return False
            if not (self._resolves(sub, tdef, sel.name, provided) or self._used_overridden(sub, tdef, sel.name)):
                return False
            child = sub.type(f.type.base)
            if sel.children and child is not None:
                child_provided = _provided_children(provided, sel.name)
                if not self._collect(sub, child, sel.children, child_provided):
                    return False
        return True

    def _used_overridden(self, sub: Subgraph, tdef: TypeDef, field_name: str) -> bool:
        f = tdef.fields.get(field_name)
        return f is not None and not f.external and (tdef.name, field_name, sub.name) in self.overridden

    def _closure(self, state: _State) -> list[_State]:
        """The state and every state reachable from it by entity jumps only."""
        cached = self._closure_cache.get(state)
        if cached is None:
            cached = self._compute_closure(state)
            if not self._computing:
                self._closure_cache[state] = cached
        return cached

    def _compute_closure(self, state: _State) -> list[_State]:
        seen = [state]
        index = 0
        while index < len(seen):
            for nxt in self._jumps(seen[index]):
                if nxt not in seen:
                    seen.append(nxt)
            index += 1
        return seen

    def _field_ok(self, state: _State, field_name: str, depth: int = 0) -> bool:
        for candidate in self._closure(state):
            sub = self.subs[candidate.subgraph]
            tdef = sub.type(candidate.type_name)
            if tdef is None:
                continue
            if self._resolves(sub, tdef, field_name, candidate.provided) and self._requires_ok(
                candidate, tdef, field_name
            ):
                return True
            if tdef.kind == Kind.INTERFACE and field_name not in tdef.fields and depth < 3:
                # The field is not on the interface here: ask each implementation instead.
                possible = sub.possible_types(tdef.name)
                if possible and all(
                    self._field_ok(_State(p.name, sub.name, candidate.provided), field_name, depth + 1)
                    for p in possible
                ):
                    return True
        return False

    def _requires_ok(self, state: _State, tdef: TypeDef, field_name: str, guard: _Guard = frozenset()) -> bool:
        f = tdef.fields[field_name]
        if f.requires is None:
            return True
        sub = self.subs[state.subgraph]
        if not any(k.resolvable for k in tdef.keys):
            return self._collectable(sub, tdef, f.requires, state.provided)
        selections = parse_field_set(f.requires)
        marker = (tdef.name, field_name, sub.name)
        if selections is None or marker in guard:
            return False  # invalid, or a @requires cycle
        # The required selection is fetched like a query from the entity in the requiring subgraph: each
        # field from any subgraph reachable by key jumps, nested selections included (the sub-selection of
        # an @external field comes from the subgraph resolving it), and a required field may itself
        # @require fields.
        origin = _State(state.type_name, state.subgraph)
        cache_key = (origin, field_name)
        if not guard and cache_key in self._requires_cache:
            return self._requires_cache[cache_key]
        ok = self._fetchable((origin,), selections, guard | {marker})
        if not guard and not self._computing:
            self._requires_cache[cache_key] = ok
        return ok

    def _fetchable(self, options: Sequence[_State], selections: Provided, guard: _Guard) -> bool:
        """Whether a selection can be fetched starting from any of `options` (directly or after jumps)."""
        for sel in selections:
            if sel.type_condition is not None:
                narrowed = self._narrow_options(options, sel.type_condition)
                # Unlike a query's type condition, a required one that no option can take fails (Apollo's
                # condition resolver: no option left means the condition cannot be satisfied).
                if not narrowed or not self._fetchable(narrowed, sel.children, guard):
                    return False
                continue
            if sel.name == "__typename":
                continue
            found = False
            children: list[_State] = []
            for candidate in self._closure_of_all(options):
                sub = self.subs[candidate.subgraph]
                tdef = sub.type(candidate.type_name)
                f = tdef.fields.get(sel.name) if tdef else None
                if tdef is None or f is None or not self._resolves(sub, tdef, sel.name, candidate.provided):
                    continue
                if not self._requires_ok(candidate, tdef, sel.name, guard):
                    continue
                found = True
                target = sub.type(f.type.base)
                if sel.children and target is not None and target.is_composite:
                    child = (
                        parse_field_set(f.provides) or ()
                        if f.provides
                        else _provided_children(candidate.provided, f.name)
                    )
                    children.append(_State(target.name, sub.name, child))
            if not found:
                return False
            if sel.children and not self._fetchable(tuple(dict.fromkeys(children)), sel.children, guard):
                return False
        return True

    def _narrow_options(self, options: Sequence[_State], type_condition: str) -> tuple[_State, ...]:
        if not type_condition:
            return tuple(options)
        out: list[_State] = []
        for candidate in self._closure_of_all(options):
            sub = self.subs[candidate.subgraph]
            tdef = sub.type(candidate.type_name)
            if tdef is None:
                continue
            if tdef.name == type_condition or type_condition in tdef.interfaces:
                out.append(candidate)
            elif self._can_be(sub, tdef, type_condition):
                out.append(_State(type_condition, sub.name, _narrow(candidate.provided, type_condition)))
        return tuple(dict.fromkeys(out))

    @staticmethod
    def _can_be(sub: Subgraph, tdef: TypeDef, type_name: str) -> bool:
        """Whether a value of the abstract type `tdef` can be a `type_name` in this subgraph."""
        if tdef.kind not in (Kind.INTERFACE, Kind.UNION) or tdef.interface_object:
            return False
        return any(p.name == type_name for p in sub.possible_types(tdef.name))

    # -- reporting -----------------------------------------------------------------------------
    def _check_node(self, node: _Node) -> dict[str, CompositionIssue]:
        stype = self.supergraph.types.get(node.type_name)
        if stype is None or stype.kind not in (Kind.OBJECT, Kind.INTERFACE) or stype.deco.inaccessible:
            return {}
        if node.type_name in ROOT_NAMES.values():
            return {}  # every subgraph's root fields are reachable from the query planner's root
        issues: dict[str, CompositionIssue] = {}
        for name, sfield in stype.fields.items():
            if sfield.deco.inaccessible or any(self._field_ok(option, name) for option in node.options):
                continue
            if any(self._explodes(option, name) for option in node.options):
                continue  # reported more precisely on the implementation that lacks it ("... on T")
            coordinate = f"{stype.name}.{name}"
            issues[coordinate] = self._issue(node, coordinate)
        return issues

    def _explodes(self, state: _State, field_name: str) -> bool:
        """An interface lacking the field here: the query planner asks each implementation instead."""
        sub = self.subs[state.subgraph]
        local = sub.type(state.type_name)
        return (
            local is not None
            and local.kind == Kind.INTERFACE
            and not local.interface_object
            and field_name not in local.fields
            and bool(sub.possible_types(local.name))
        )

    def _issue(self, node: _Node, coordinate: str) -> CompositionIssue:
        type_name, field_name = coordinate.split(".", 1)
        closure = self._closure_of_all(node.options)
        reached = [c.subgraph for c in closure]
        moves: list[str] = []
        involved = list(reached)
        for sub in self.subs.values():
            other = sub.type(type_name)
            if sub.name in reached or other is None or field_name not in other.fields:
                continue
            involved.append(sub.name)
            if not other.keys:
                why = f'type "{type_name}" has no @key defined in subgraph "{sub.name}"'
            elif not any(k.resolvable for k in other.keys):
                why = (
                    f'none of the @key defined on type "{type_name}" in subgraph "{sub.name}" are resolvable '
                    '(they are all declared with their "resolvable" argument set to false)'
                )
            else:
                why = f'none of the @key defined on type "{type_name}" in subgraph "{sub.name}" can be collected'
            moves.append(f'  - cannot move to subgraph "{sub.name}", which has field "{coordinate}", because {why}.')
        lines: list[str] = []
        for c in closure:
            lines.append(f'- from subgraph "{c.subgraph}":')
            lines.append("  - " + self._local_reason(c, field_name))
            lines.extend(moves)
        message = (
            "The following supergraph API query:\n"
            + self._example_query(node, field_name)
            + "\ncannot be satisfied by the subgraphs because:\n"
            + "\n".join(lines)
        )
        return CompositionIssue("SATISFIABILITY_ERROR", message, list(dict.fromkeys(involved)), coordinate)

    def _local_reason(self, state: _State, field_name: str) -> str:
        coordinate = f"{state.type_name}.{field_name}"
        tdef = self.subs[state.subgraph].type(state.type_name)
        f = tdef.fields.get(field_name) if tdef else None
        if f is None:
            return f'cannot find field "{coordinate}".'
        if f.external:
            return f'field "{coordinate}" is @external and not provided on this path.'
        if (state.type_name, field_name, state.subgraph) in self.overridden:
            return f'field "{coordinate}" is overridden by another subgraph.'
        return f'cannot satisfy @requires(fields: "{f.requires}") of field "{coordinate}".'

    def _example_query(self, node: _Node, field_name: str) -> str:
        path: list[str] = [field_name]
        current: _Node | None = node
        while current is not None:
            step = self.steps.get(current)
            if step is None:
                break
            if step.text is not None:
                path.append(step.text)
            current = step.previous
        path.reverse()
        lines = ["{"]
        for depth, text in enumerate(path, start=1):
            suffix = " {" if depth < len(path) else ""
            lines.append("  " * depth + text + suffix)
        lines.extend("  " * depth + "}" for depth in range(len(path) - 1, -1, -1))
        return "\n".join(lines)


def _provided_children(provided: Provided, field_name: str) -> Provided:
    for sel in provided:
        if sel.type_condition is None and sel.name == field_name:
            return sel.children
    return ()


def _narrow(provided: Provided, type_name: str) -> Provided:
    """Provided selections that apply once the runtime type is known to be `type_name`."""
    out: list[Selection] = []
    for sel in provided:
        if sel.type_condition is None:
            out.append(sel)
        elif sel.type_condition in ("", type_name):
            out.extend(sel.children)
    return tuple(out)
