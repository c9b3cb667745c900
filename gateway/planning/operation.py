"""Normalised client selections: named fragments inlined, arguments and directives pre-printed.

The planner and the response shaper both work from these small structures instead of the
graphql-core AST, so that everything expensive happens once per cached operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    parse,
    print_ast,
)

# A condition clause: every (variable, expected) must hold. A literal `@skip(if: true)` becomes
# the impossible clause (("", False),) handled by the evaluator.
Clause = tuple[tuple[str, bool], ...]


def clauses_hold(clauses: tuple[Clause, ...], variables: Mapping[str, Any]) -> bool:
    """Whether any @skip/@include clause holds for these variable values."""
    for clause in clauses:
        for name, expected in clause:
            if bool(variables.get(name)) is not expected:
                break
        else:
            return True
    return False


@dataclass(frozen=True, slots=True)
class CField:
    response_key: str
    name: str
    args: str  # "(a: 1, b: $v)" or ""
    directives: str  # " @skip(if: $v)" or ""
    clause: Clause
    never: bool  # a literal @skip(if: true) / @include(if: false)
    variables: frozenset[str]
    selections: tuple[CSel, ...] | None
    node: FieldNode | None = None


@dataclass(frozen=True, slots=True)
class Defer:
    """A fragment's `@defer`: `id` is unique per occurrence in the operation (a named fragment spread
    twice defers twice); `condition` is the variable of `if: $v` (None: always deferred)."""

    id: int
    label: str | None
    condition: str | None


@dataclass(frozen=True, slots=True)
class CFrag:
    type_condition: str | None
    directives: str
    clause: Clause
    never: bool
    variables: frozenset[str]
    selections: tuple[CSel, ...]
    defer: Defer | None = None


CSel = CField | CFrag


def _value_variables(node: ValueNode, out: set[str]) -> None:
    if isinstance(node, VariableNode):
        out.add(node.name.value)
    elif isinstance(node, ListValueNode):
        for item in node.values:
            _value_variables(item, out)
    elif isinstance(node, ObjectValueNode):
        for field in node.fields:
            _value_variables(field.value, out)


def _print_args(args: Sequence[ArgumentNode] | None, variables: set[str]) -> str:
    if not args:
        return ""
    parts = []
    for arg in args:
        _value_variables(arg.value, variables)
        parts.append(f"{arg.name.value}: {print_ast(arg.value)}")
    return "(" + ", ".join(parts) + ")"


def _conditions(directives: Sequence[DirectiveNode] | None, variables: set[str]) -> tuple[str, Clause, bool]:
    """Printed skip/include directives, the clause they impose, and whether they never hold."""
    printed: list[str] = []
    clause: list[tuple[str, bool]] = []
    never = False
    for directive in directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        arg = next((a for a in directive.arguments or () if a.name.value == "if"), None)
        if arg is None:
            continue
        want = name == "include"
        if isinstance(arg.value, VariableNode):
            var = arg.value.name.value
            variables.add(var)
            clause.append((var, want))
            printed.append(f" @{name}(if: ${var})")
        elif isinstance(arg.value, BooleanValueNode) and arg.value.value != want:
            never = True
            printed.append(f" @{name}(if: {'true' if arg.value.value else 'false'})")
    return "".join(printed), tuple(clause), never


def _defer(directives: Sequence[DirectiveNode] | None, defers: list[Defer] | None) -> Defer | None:
    """The fragment's @defer (recorded in `defers`); None without one, with `if: false`, or when the
    caller does not collect defers (field sets)."""
    if defers is None:
        return None
    for directive in directives or ():
        if directive.name.value != "defer":
            continue
        label: str | None = None
        condition: str | None = None
        for arg in directive.arguments or ():
            if arg.name.value == "label" and isinstance(arg.value, StringValueNode):
                label = arg.value.value
            elif arg.name.value == "if":
                if isinstance(arg.value, VariableNode):
                    condition = arg.value.name.value
                elif isinstance(arg.value, BooleanValueNode) and not arg.value.value:
                    return None
        found = Defer(len(defers), label, condition)
        defers.append(found)
        return found
    return None


def normalize_selections(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    keep_nodes: bool = False,
    defers: list[Defer] | None = None,
) -> tuple[CSel, ...]:
    """`defers`, when given, collects the fragments' @defer occurrences (see :class:`Defer`)."""
    if selection_set is None:
        return ()
    out: list[CSel] = []
    for selection in selection_set.selections:
        variables: set[str] = set()
        if isinstance(selection, FieldNode):
            args = _print_args(selection.arguments, variables)
            directives, clause, never = _conditions(selection.directives, variables)
            subs = (
                normalize_selections(selection.selection_set, fragments, keep_nodes, defers)
                if selection.selection_set is not None
                else None
            )
            out.append(
                CField(
                    response_key=selection.alias.value if selection.alias else selection.name.value,
                    name=selection.name.value,
                    args=args,
                    directives=directives,
                    clause=clause,
                    never=never,
                    variables=frozenset(variables),
                    selections=subs,
                    node=selection if keep_nodes else None,
                )
            )
        elif isinstance(selection, InlineFragmentNode):
            directives, clause, never = _conditions(selection.directives, variables)
            out.append(
                CFrag(
                    type_condition=selection.type_condition.name.value if selection.type_condition else None,
                    directives=directives,
                    clause=clause,
                    never=never,
                    variables=frozenset(variables),
                    selections=normalize_selections(selection.selection_set, fragments, keep_nodes, defers),
                    defer=_defer(selection.directives, defers),
                )
            )
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            directives, clause, never = _conditions(selection.directives, variables)
            out.append(
                CFrag(
                    type_condition=fragment.type_condition.name.value,
                    directives=directives,
                    clause=clause,
                    never=never,
                    variables=frozenset(variables),
                    selections=normalize_selections(fragment.selection_set, fragments, keep_nodes, defers),
                    defer=_defer(selection.directives, defers),
                )
            )
    return tuple(out)


@lru_cache(maxsize=4096)
def parse_field_set(fields: str) -> tuple[CSel, ...]:
    """Parse a join__FieldSet (`id organization { id }`, `... on Book { title }`)."""
    document = parse("{" + fields + "}", no_location=True)
    operation = document.definitions[0]
    return normalize_selections(operation.selection_set, {})  # type: ignore[attr-defined]


def field_set_names(selections: Sequence[CSel]) -> frozenset[str]:
    """Top-level field names of a field set (fragments included)."""
    names: set[str] = set()
    for sel in selections:
        if isinstance(sel, CField):
            names.add(sel.name)
        else:
            names |= field_set_names(sel.selections)
    return frozenset(names)


def has_arguments(selections: Sequence[CSel]) -> bool:
    """Whether a field set passes arguments to any of its fields (`price(currency: "USD")`)."""
    for sel in selections:
        if isinstance(sel, CField):
            if sel.args or (sel.selections and has_arguments(sel.selections)):
                return True
        elif has_arguments(sel.selections):
            return True
    return False
