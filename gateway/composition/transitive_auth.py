"""MISSING_TRANSITIVE_AUTH_REQUIREMENTS: a field reading other data through `@requires` or
`@fromContext` must itself demand what that data demands, as the reference composer checks.

The field's requirements (its type's and its own `@authenticated`/`@requiresScopes`/`@policy`,
joined) must imply those of every field the selection reads, of each such field's return type, of
each type condition in it and, for `@fromContext`, of each type setting the context: otherwise a
client allowed the field would receive, through it, data it may not read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from graphql import FieldNode, GraphQLError, InlineFragmentNode, SelectionSetNode, parse

from .errors import CompositionIssue
from .merge_values import DNF, dnf_conjunction
from .model import Decorations, Kind
from .supergraph_model import JoinField, SField, SType, Supergraph

CODE = "MISSING_TRANSITIVE_AUTH_REQUIREMENTS"
_PREFIX = "does not specify necessary @authenticated, @requiresScopes and/or @policy auth requirements to access"


@dataclass(frozen=True)
class _Needs:
    authenticated: bool
    scopes: DNF | None
    policies: DNF | None

    @classmethod
    def of(cls, *decos: Decorations) -> _Needs:
        scopes: DNF | None = None
        policies: DNF | None = None
        for deco in decos:
            scopes = dnf_conjunction(scopes, deco.requires_scopes)
            policies = dnf_conjunction(policies, deco.policies)
        return cls(any(d.authenticated for d in decos), scopes, policies)

    def implies(self, deco: Decorations) -> bool:
        if deco.authenticated and not self.authenticated:
            return False
        return _implies(self.scopes, deco.requires_scopes) and _implies(self.policies, deco.policies)


def _implies(have: DNF | None, need: DNF | None) -> bool:
    """Every clause of `have` contains some clause of `need` (an empty list or none: no condition)."""
    have_clauses = [set(c) for c in (have or ((),))] or [set()]
    need_clauses = [set(c) for c in (need or ((),))] or [set()]
    return all(any(n <= h for n in need_clauses) for h in have_clauses)


class _Missing(Exception):
    pass


def check_transitive_auth(supergraph: Supergraph) -> list[CompositionIssue]:
    if not (supergraph.uses("authenticated") or supergraph.uses("requires_scopes") or supergraph.uses("policies")):
        return []
    names = {g.enum_value: g.name for g in supergraph.graphs}
    issues: list[CompositionIssue] = []
    for stype in supergraph.types.values():
        if stype.kind not in (Kind.OBJECT, Kind.INTERFACE):
            continue
        for sfield in stype.fields.values():
            needs = _Needs.of(stype.deco, sfield.deco)
            coordinate = f"{stype.name}.{sfield.name}"
            for join in sfield.joins:
                for message in _problems(supergraph, stype, sfield, join, needs):
                    subgraph = names.get(join.graph or "", "")
                    text = f'Field "{coordinate}" {message}'
                    if subgraph:
                        text = f"[{subgraph}] {text}"
                    issues.append(CompositionIssue(CODE, text, [subgraph] if subgraph else [], coordinate))
    return issues


def _problems(supergraph: Supergraph, stype: SType, sfield: SField, join: JoinField, needs: _Needs) -> list[str]:
    out: list[str] = []
    if join.requires:
        try:
            _verify(supergraph, needs, stype, _selection(join.requires), "@requires")
        except _Missing as exc:
            out.append(str(exc))
    for argument in join.context_arguments:
        for setter in supergraph.types.values():
            if argument.context not in setter.deco.contexts:
                continue
            try:
                if not needs.implies(setter.deco):
                    raise _Missing(
                        f"{_PREFIX} the transitive data in context {argument.context} from @fromContext selection set."
                    )
                _verify(supergraph, needs, setter, _selection(argument.selection), "@fromContext")
            except _Missing as exc:
                out.append(str(exc))
    return out


def _selection(text: str) -> SelectionSetNode | None:
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    try:
        return parse("{" + body + "}", no_location=True).definitions[0].selection_set  # type: ignore[attr-defined]
    except GraphQLError:
        return None  # reported by the field-set checks


def _verify(
    supergraph: Supergraph, needs: _Needs, parent: SType, selection_set: SelectionSetNode | None, directive: str
) -> None:
    for selection in _selections(selection_set):
        if isinstance(selection, FieldNode):
            sfield = parent.fields.get(selection.name.value)
            if sfield is None:
                continue
            returned = supergraph.types.get(sfield.type.base)
            if not needs.implies(sfield.deco) or (returned is not None and not needs.implies(returned.deco)):
                raise _Missing(
                    f'{_PREFIX} the transitive field "{parent.name}.{sfield.name}" data from {directive} selection set.'
                )
            if selection.selection_set is not None and returned is not None:
                _verify(supergraph, needs, returned, selection.selection_set, directive)
        elif isinstance(selection, InlineFragmentNode):
            target = parent
            if selection.type_condition is not None:
                name = selection.type_condition.name.value
                found = supergraph.types.get(name)
                if found is not None and not needs.implies(found.deco):
                    raise _Missing(
                        f'{_PREFIX} the transitive data in inline fragment type condition "{name}" from {directive} '
                        "selection set."
                    )
                target = found or parent
            _verify(supergraph, needs, target, selection.selection_set, directive)


def _selections(selection_set: SelectionSetNode | None) -> Sequence[object]:
    return selection_set.selections if selection_set is not None else ()
