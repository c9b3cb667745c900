"""Parsing and checking of `FieldSet` strings (the `fields:` of @key, @requires and @provides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from graphql import GraphQLError, parse, print_ast
from graphql.language import FieldNode, InlineFragmentNode, OperationDefinitionNode, SelectionSetNode

from .model import Field, Kind, Subgraph


@dataclass(frozen=True)
class Selection:
    """One selected field, or an inline fragment when `type_condition` is set."""

    name: str
    children: tuple[Selection, ...] = ()
    args: tuple[str, ...] = ()  # the names of the arguments the selection gives
    type_condition: str | None = None
    alias: str | None = None
    directives: tuple[str, ...] = ()  # printed directive applications (never allowed in a field set)


@lru_cache(maxsize=4096)
def parse_field_set(text: str) -> tuple[Selection, ...] | None:
    """Parse a field set; None when it is not valid selection syntax."""
    try:
        document = parse("{" + text + "}", no_location=True)
    except GraphQLError:
        return None
    op = document.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    return _convert(op.selection_set)


def _convert(selection_set: SelectionSetNode | None) -> tuple[Selection, ...]:
    if selection_set is None:
        return ()
    out: list[Selection] = []
    for sel in selection_set.selections:
        directives = tuple(print_ast(d) for d in sel.directives or ())
        if isinstance(sel, FieldNode):
            args = tuple(a.name.value for a in sel.arguments or ())
            alias = sel.alias.value if sel.alias else None
            out.append(Selection(sel.name.value, _convert(sel.selection_set), args, None, alias, directives))
        elif isinstance(sel, InlineFragmentNode):
            condition = sel.type_condition.name.value if sel.type_condition else None
            out.append(
                Selection("", _convert(sel.selection_set), type_condition=condition or "", directives=directives)
            )
    return tuple(out)


@dataclass
class FieldSetProblem:
    code_suffix: str  # "INVALID_FIELDS", "FIELDS_SELECT_INVALID_TYPE", "FIELDS_HAS_ARGS"
    detail: str


@dataclass
class FieldSetCheck:
    """The outcome of walking a field set over one subgraph's types."""

    problems: list[FieldSetProblem] = field(default_factory=list)
    visited: list[tuple[str, str]] = field(default_factory=list)  # (type, field) of every selection
    # (type, field) of every leaf selection with no @external field above it in the selection: in a
    # @requires or @provides these are the fields that must themselves be @external. Below an external
    # field the whole sub-selection comes from elsewhere, so its fields need no @external of their own
    # (Apollo's `mustBeExternal` / `hasExternalInParents` in validateFieldSetSelections).
    leaves_outside_external: list[tuple[str, str]] = field(default_factory=list)


def check_field_set(
    subgraph: Subgraph, type_name: str, text: str, *, for_key: bool = False, allow_args: bool = False
) -> FieldSetCheck:
    """Walk a field set; `allow_args` is for @requires, the one directive that may select fields with
    arguments (Apollo's `allowFieldsWithArguments`); @key and @provides reject any field defining some."""
    result = FieldSetCheck()
    selections = parse_field_set(text)
    if selections is None:
        result.problems.append(FieldSetProblem("INVALID_FIELDS", f'invalid field set syntax "{text}"'))
        return result
    if not selections:
        result.problems.append(FieldSetProblem("INVALID_FIELDS", "the field set is empty"))
        return result
    _walk(subgraph, type_name, selections, _Rules(for_key, allow_args), result, under_external=False)
    return result


@dataclass(frozen=True)
class _Rules:
    for_key: bool
    allow_args: bool


def _argument_problems(sel: Selection, fdef: Field, coordinate: str, rules: _Rules) -> list[FieldSetProblem]:
    if fdef.args and not rules.allow_args:
        return [FieldSetProblem("FIELDS_HAS_ARGS", f'field "{coordinate}" cannot be included because it has arguments')]
    problems = [
        FieldSetProblem("INVALID_FIELDS", f'Unknown argument "{name}" on field "{coordinate}"')
        for name in sel.args
        if name not in fdef.args
    ]
    problems.extend(
        FieldSetProblem(
            "INVALID_FIELDS",
            f'Field "{coordinate}" argument "{arg.name}" of type "{arg.type}" is required, but it was not provided',
        )
        for arg in fdef.args.values()
        if arg.type.non_null and arg.default is None and arg.name not in sel.args
    )
    return problems


def _walk(
    subgraph: Subgraph,
    type_name: str,
    selections: tuple[Selection, ...],
    rules: _Rules,
    out: FieldSetCheck,
    *,
    under_external: bool,
) -> None:
    parent = subgraph.type(type_name)
    if parent is None:
        out.problems.append(FieldSetProblem("INVALID_FIELDS", f'unknown type "{type_name}"'))
        return
    for sel in selections:
        if sel.directives:
            out.problems.append(
                FieldSetProblem(
                    "DIRECTIVE_IN_FIELDS_ARG",
                    f"cannot have directive applications in the fields argument but found {', '.join(sel.directives)}.",
                )
            )
        if sel.alias is not None:
            text = f"{sel.alias}: {sel.name}"
            out.problems.append(
                FieldSetProblem(
                    "INVALID_FIELDS", f'Cannot use alias "{sel.alias}" in "{text}": aliases are not currently supported'
                )
            )
        if sel.type_condition is not None:
            target = sel.type_condition or type_name
            if subgraph.type(target) is None:
                out.problems.append(FieldSetProblem("INVALID_FIELDS", f'Unknown type "{target}"'))
                continue
            _walk(subgraph, target, sel.children, rules, out, under_external=under_external)
            continue
        if sel.name == "__typename":
            continue
        fdef = parent.fields.get(sel.name)
        if fdef is None:
            out.problems.append(
                FieldSetProblem("INVALID_FIELDS", f'Cannot query field "{sel.name}" on type "{type_name}"')
            )
            continue
        out.visited.append((type_name, sel.name))
        coordinate = f"{type_name}.{sel.name}"
        out.problems.extend(_argument_problems(sel, fdef, coordinate, rules))
        target_type = subgraph.type(fdef.type.base)
        composite = target_type is not None and target_type.is_composite
        if rules.for_key and target_type and target_type.kind in (Kind.INTERFACE, Kind.UNION):
            out.problems.append(
                FieldSetProblem(
                    "FIELDS_SELECT_INVALID_TYPE",
                    f'field "{coordinate}" is a {target_type.kind.value}, which is not allowed in @key',
                )
            )
            continue
        if composite and not sel.children:
            out.problems.append(
                FieldSetProblem(
                    "INVALID_FIELDS",
                    f'Field "{coordinate}" of type "{fdef.type}" must have a selection of subfields',
                )
            )
        elif not composite and sel.children:
            out.problems.append(
                FieldSetProblem(
                    "INVALID_FIELDS",
                    f'Field "{coordinate}" must not have a selection since type "{fdef.type}" has no subfields',
                )
            )
        elif composite:
            below_external = under_external or _external_here(subgraph, type_name, sel.name)
            _walk(subgraph, fdef.type.base, sel.children, rules, out, under_external=below_external)
        if not sel.children and not under_external:
            out.leaves_outside_external.append((type_name, sel.name))


def _external_here(subgraph: Subgraph, type_name: str, field_name: str) -> bool:
    """Whether selecting `type_name.field_name` may cross an @external field.

    On an interface this is so when any implementation's field is @external (as Apollo does: the
    runtime object may be one whose field comes from elsewhere).
    """
    fdef = subgraph.field(type_name, field_name)
    if fdef is not None and fdef.external:
        return True
    parent = subgraph.type(type_name)
    if parent is None or parent.kind != Kind.INTERFACE:
        return False
    return any(
        (impl := t.fields.get(field_name)) is not None and impl.external for t in subgraph.possible_types(type_name)
    )


def top_level_fields(text: str) -> list[str]:
    selections = parse_field_set(text) or ()
    return [s.name for s in selections if s.type_condition is None]
