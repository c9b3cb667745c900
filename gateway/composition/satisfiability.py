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
_Guard = frozenset[tuple[str, str, str]]  # (type, field, subgraph) whose @requires is being resolved


@dataclass(frozen=True)
class _State:
    type_name: str
    subgraph: str
    provided: Provided = ()


@dataclass(frozen=True)
class _Node:
    """A point of a supergraph query: its supergraph type and every subgraph state it can be in."""

    type_name: str
    options: tuple[_State, ...]


@dataclass(frozen=True)
class _Step:
    previous: _Node | None
    text: str | None  # a field name or "... on T"; None at a root


def check_satisfiability(subgraphs: Sequence[Subgraph], supergraph: Supergraph) -> list[CompositionIssue]:
    return _Checker(subgraphs, supergraph).run()


class _Checker:
    def __init__(self, subgraphs: Sequence[Subgraph], supergraph: Supergraph) -> None:
        self.subs = {s.name: s for s in subgraphs}
        self.supergraph = supergraph
        self.overridden: set[tuple[str, str, str]] = set()  # (type, field, subgraph) no longer resolving it
        for sub in subgraphs:
            for tdef in sub.types.values():
                for f in tdef.fields.values():
                    origin = f.override_from
                    if origin and origin != sub.name and f.override_label is None and origin in self.subs:
                        self.overridden.add((tdef.name, f.name, origin))
        self.steps: dict[_Node, _Step] = {}
        self._visits: dict[str, list[frozenset[_State]]] = {}
        self._jump_cache: dict[_State, list[_State]] = {}
        self._closure_cache: dict[_State, list[_State]] = {}
        self._requires_cache: dict[tuple[_State, str], bool] = {}

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
            if sfield.deco.inaccessible or target is None or not target.is_composite:
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
            if tdef is None or tdef.interface_object:
                continue
            if tdef.kind in (Kind.INTERFACE, Kind.UNION):
                for possible in sub.possible_types(tdef.name):
                    narrowed = _State(possible.name, sub.name, _narrow(candidate.provided, possible.name))
                    by_type.setdefault(possible.name, []).append(narrowed)
            elif tdef.kind == Kind.OBJECT and tdef.name != node.type_name and self._is_runtime_type(node, tdef.name):
                by_type.setdefault(tdef.name, []).append(candidate)  # already that runtime type here
        return {name: tuple(dict.fromkeys(states)) for name, states in by_type.items()}

    def _is_runtime_type(self, node: _Node, type_name: str) -> bool:
        abstract = self.supergraph.types.get(node.type_name)
        concrete = self.supergraph.types.get(type_name)
        if abstract is None or concrete is None:
            return False
        return node.type_name in concrete.interfaces or type_name in abstract.members

    def _closure_of_all(self, options: Iterable[_State]) -> list[_State]:
        return list(dict.fromkeys(c for option in options for c in self._closure(option)))

    def _jumps(self, state: _State) -> list[_State]:
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
            cached = self._closure_cache[state] = self._compute_closure(state)
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

    def _requires_ok(self, state: _State, tdef: TypeDef, field_name: str) -> bool:
        f = tdef.fields[field_name]
        if f.requires is None:
            return True
        sub = self.subs[state.subgraph]
        if not any(k.resolvable for k in tdef.keys):
            return self._collectable(sub, tdef, f.requires, state.provided)
        closure = self._closure(_State(state.type_name, state.subgraph))
        for sel in parse_field_set(f.requires) or ():
            if sel.type_condition is not None or sel.name == "__typename":
                continue
            found = False
            for c in closure:
                csub = self.subs[c.subgraph]
                ctype = csub.type(c.type_name)
                cfield = ctype.fields.get(sel.name) if ctype else None
                if ctype and cfield and cfield.requires is None and self._resolves(csub, ctype, sel.name, ()):
                    found = True
                    break
            if not found:
                return False
        return True

    # -- reporting -----------------------------------------------------------------------------
    def _check_state(self, state: _State) -> dict[str, CompositionIssue]:
        stype = self.supergraph.types.get(state.type_name)
        if stype is None or stype.kind not in (Kind.OBJECT, Kind.INTERFACE) or stype.deco.inaccessible:
            return {}
        if state.type_name in ROOT_NAMES.values():
            return {}  # every subgraph's root fields are reachable from the query planner's root
        issues: dict[str, CompositionIssue] = {}
        local = self.subs[state.subgraph].type(state.type_name)
        explodes = local is not None and local.kind == Kind.INTERFACE and not local.interface_object
        for name, sfield in stype.fields.items():
            if sfield.deco.inaccessible or self._field_ok(state, name):
                continue
            if explodes and local and name not in local.fields and self.subs[state.subgraph].possible_types(local.name):
                continue  # reported more precisely on the implementation that lacks it ("... on T")
            coordinate = f"{stype.name}.{name}"
            issues[coordinate] = self._issue(state, coordinate)
        return issues

    def _issue(self, state: _State, coordinate: str) -> CompositionIssue:
        type_name, field_name = coordinate.split(".", 1)
        closure = self._closure(state)
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
            + self._example_query(state, field_name)
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

    def _example_query(self, state: _State, field_name: str) -> str:
        path: list[str] = [field_name]
        current: _State | None = state
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
