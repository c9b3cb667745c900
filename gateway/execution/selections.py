"""The response keys a fetch's own operation text selects (our planner's text, parsed on demand)."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import FieldNode, GraphQLError, InlineFragmentNode, OperationDefinitionNode, SelectionSetNode, parse


@dataclass(frozen=True, slots=True)
class Selected:
    """Top-level fields in selection order as (field name, response key); `complete` is False when
    something was not followed (a named fragment spread, or for entities another root field)."""

    fields: tuple[tuple[str, str], ...]
    complete: bool


def selected(operation: str, entities: bool) -> Selected | None:
    """The root fields of `operation`, or with `entities` the fields it selects on its entities
    (`_entities { ... on T { a b } }`, inline fragments flattened). None when it does not parse."""
    try:
        document = parse(operation, no_location=True)
    except GraphQLError:
        return None
    fields: list[tuple[str, str]] = []
    complete = True

    def walk(selection_set: SelectionSetNode | None) -> None:
        nonlocal complete
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FieldNode):
                fields.append((selection.name.value, (selection.alias or selection.name).value))
            else:
                complete = False

    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode):
                complete = False
            elif not entities:
                fields.append((selection.name.value, (selection.alias or selection.name).value))
            elif selection.name.value == "_entities":
                walk(selection.selection_set)
            else:
                complete = False
    return Selected(tuple(fields), complete)
