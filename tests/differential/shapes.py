"""The same operation written in other shapes: aliases, named fragments, ``@include``/``@skip``.

Each shape asks for the same data (under other keys for aliases), so two gateways must still agree;
these are the parts of a request a gateway rewrites when it plans (response keys, fragment spreads,
conditions), where a planner bug shows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from graphql import (
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    parse_type,
    print_ast,
    value_from_ast_untyped,
    visit,
)
from graphql.language import ast

from .generate import Operation


def _name(value: str) -> ast.NameNode:
    return ast.NameNode(value=value)


def _aliased(selection_set: Any) -> Any:
    """Every composite field under an alias (``a_<name>``), and the first leaf of each selection
    once more under one. Not every leaf: the gateway's alias limit (GATEWAY_MAX_ALIASES, 30 by
    default; @apollo/gateway has none) would refuse the larger operations."""
    selections: list[Any] = []
    leaf_aliased = False
    for selection in selection_set.selections:
        if isinstance(selection, ast.FieldNode) and selection.name.value != "__typename":
            if selection.selection_set:
                selections.append(replace(selection, alias=_name("a_" + selection.name.value),
                                          selection_set=_aliased(selection.selection_set)))
                continue
            selections.append(selection)
            if not leaf_aliased:
                selections.append(replace(selection, alias=_name("a_" + selection.name.value)))
                leaf_aliased = True
        elif getattr(selection, "selection_set", None) is not None:
            selections.append(replace(selection, selection_set=_aliased(selection.selection_set)))
        else:
            selections.append(selection)
    return replace(selection_set, selections=tuple(selections))


def _directive(name: str, variable: str) -> ast.DirectiveNode:
    argument = ast.ArgumentNode(name=_name("if"), value=ast.VariableNode(name=_name(variable)))
    return ast.DirectiveNode(name=_name(name), arguments=(argument,))


def _conditional(selection_set: Any) -> Any:
    """Each composite field of the first level below the root twice: ``@include(if: $yes)`` with its
    selection, ``@skip(if: $yes)`` under an alias (so it is left out)."""
    selections: list[Any] = []
    for selection in selection_set.selections:
        selections.append(selection)
        if isinstance(selection, ast.FieldNode) and selection.selection_set:
            directives = tuple(selection.directives or ())
            selections[-1] = replace(selection, directives=(*directives, _directive("include", "yes")))
            selections.append(replace(selection, alias=_name("skipped_" + selection.name.value),
                                      directives=(*directives, _directive("skip", "yes"))))
    return replace(selection_set, selections=tuple(selections))


def shapes(operation: Operation, schema: GraphQLSchema) -> list[Operation]:
    """Three more shapes of a one-root-field operation: aliased, through named fragments (the root
    field's selection in a fragment on its type; the operation's in one on Query) and conditional."""
    document = parse(operation.document)
    op = document.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode) and len(op.selection_set.selections) == 1
    root = op.selection_set.selections[0]
    assert isinstance(root, ast.FieldNode)
    name = op.name.value if op.name else "Op"

    aliased = replace(op, name=_name(name + "_Aliased"), selection_set=_aliased(op.selection_set))

    found: list[Operation] = [Operation(f"{operation.name} aliased", print_ast(aliased), operation.variables)]
    if root.selection_set is not None:
        root_fragment = f"{name}Root"
        whole = f"{name}Whole"
        spread_root = ast.FragmentSpreadNode(name=_name(root_fragment), directives=())
        spread_whole = ast.FragmentSpreadNode(name=_name(whole), directives=())
        query = schema.query_type
        assert query is not None
        type_name = get_named_type(query.fields[root.name.value].type).name
        fragments = [
            ast.FragmentDefinitionNode(name=_name(root_fragment), type_condition=ast.NamedTypeNode(
                name=_name(type_name)), directives=(), selection_set=root.selection_set),
            ast.FragmentDefinitionNode(name=_name(whole), type_condition=ast.NamedTypeNode(name=_name(query.name)),
                                       directives=(), selection_set=ast.SelectionSetNode(selections=(
                                           replace(root, selection_set=ast.SelectionSetNode(
                                               selections=(spread_root,))),))),
        ]
        via = replace(op, name=_name(name + "_Fragments"), selection_set=ast.SelectionSetNode(
            selections=(spread_whole,)))
        found.append(Operation(f"{operation.name} fragments",
                               print_ast(ast.DocumentNode(definitions=(via, *fragments))), operation.variables))
        yes = ast.VariableDefinitionNode(variable=ast.VariableNode(name=_name("yes")), type=ast.NonNullTypeNode(
            type=ast.NamedTypeNode(name=_name("Boolean"))), directives=())
        conditional = replace(op, name=_name(name + "_Conditional"),
                              variable_definitions=(*(op.variable_definitions or ()), yes),
                              selection_set=replace(op.selection_set, selections=(replace(
                                  root, selection_set=_conditional(root.selection_set)),)))
        if any(isinstance(s, ast.FieldNode) and s.selection_set for s in root.selection_set.selections):
            found.append(Operation(f"{operation.name} conditional", print_ast(conditional),
                                   {**operation.variables, "yes": True}))
    return found


def with_variables(operation: Operation, schema: GraphQLSchema) -> Operation | None:
    """Every argument given as a literal is passed as a variable of the argument's type instead
    (None when the operation has no literal arguments)."""
    document = parse(operation.document)
    type_info = TypeInfo(schema)
    definitions: list[ast.VariableDefinitionNode] = []
    values: dict[str, Any] = dict(operation.variables)

    class Lift(Visitor):
        def enter_argument(self, node: ast.ArgumentNode, *_: Any) -> Any:
            argument = type_info.get_argument()
            if argument is None or isinstance(node.value, ast.VariableNode):
                return None
            name = f"v{len(definitions)}"
            definitions.append(ast.VariableDefinitionNode(
                variable=ast.VariableNode(name=_name(name)), type=parse_type(str(argument.type)), directives=()))
            values[name] = value_from_ast_untyped(node.value)
            return replace(node, value=ast.VariableNode(name=_name(name)))

    lifted = visit(document, TypeInfoVisitor(type_info, Lift()))
    if not definitions:
        return None
    op = lifted.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode)
    op = replace(op, name=_name((op.name.value if op.name else "Op") + "_Variables"),
                 variable_definitions=(*(op.variable_definitions or ()), *definitions))
    return Operation(f"{operation.name} variables", print_ast(replace(lifted, definitions=(op,))), values)


def deferred(operation: Operation) -> Operation | None:
    """The composite fields under the root field moved into one ``... @defer(label: "later")``
    fragment (None when there are none): merged, its parts must add up to the plain answer."""
    document = parse(operation.document)
    op = document.definitions[0]
    assert isinstance(op, ast.OperationDefinitionNode)
    root = op.selection_set.selections[0]
    if not isinstance(root, ast.FieldNode) or root.selection_set is None:
        return None
    now = [s for s in root.selection_set.selections if not (isinstance(s, ast.FieldNode) and s.selection_set)]
    later = [s for s in root.selection_set.selections if isinstance(s, ast.FieldNode) and s.selection_set]
    if not later:
        return None
    label = ast.ArgumentNode(name=_name("label"), value=ast.StringValueNode(value="later"))
    fragment = ast.InlineFragmentNode(type_condition=None, directives=(ast.DirectiveNode(
        name=_name("defer"), arguments=(label,)),), selection_set=ast.SelectionSetNode(selections=tuple(later)))
    moved = replace(root, selection_set=ast.SelectionSetNode(selections=(*now, fragment)))
    op = replace(op, name=_name((op.name.value if op.name else "Op") + "_Deferred"),
                 selection_set=ast.SelectionSetNode(selections=(moved,)))
    return Operation(f"{operation.name} deferred", print_ast(replace(document, definitions=(op,))),
                     operation.variables)
