"""Measure an operation on its AST, fragments expanded: depth, aliases, root fields, fields, cost.

Runs before graphql-core validation (whose overlapping-fields rule is quadratic in the expanded
selections), so it must itself be cheap on hostile documents: each fragment is measured once per
context and reused (200 fragments spreading each other twice cost 200 walks, not 2**200), and a
fragment cycle counts as empty (validation then rejects it). Numbers are Python ints, so an
exponential expansion is measured exactly rather than overflowing.

Cost follows Apollo's demand-control model: a composite field costs 1 (scalars and enums 0) unless
`@cost` says otherwise on the field or its type, plus its arguments' `@cost`; a list field
multiplies its own and its selections' cost by its size: the value of a slicing argument, else
`@listSize(assumedSize:)`, else the default list size. Without `@listSize`, an integer `first`,
`last` or `limit` argument is taken as the slicing argument and, on a connection (a non-list field
whose type has `edges` or `nodes`), it sizes those fields, as `@listSize(sizedFields:)` would.
Introspection (`__schema`, `__type`) costs nothing: the gateway answers it without a fetch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    is_composite_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from .costs import CostModel, ListSize

CONVENTIONAL_SLICING = ("first", "last", "limit")
CONNECTION_FIELDS = ("edges", "nodes")
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})

Sized = frozenset[tuple[str, int]]
_NONE: Sized = frozenset()


@dataclass(frozen=True, slots=True)
class Stats:
    depth: int = 0
    aliases: int = 0
    fields: int = 0
    top: int = 0  # fields directly in this selection set (spreads and inline fragments expanded)
    cost: int = 0


ZERO = Stats()


@dataclass(frozen=True, slots=True)
class Measured:
    depth: int
    aliases: int
    root_fields: int
    fields: int
    cost: int
    # a slicing argument is a variable: the cost must be measured again with the request's values
    variable_sliced: bool


class OperationAnalyzer:
    """One measurement of one operation (holds the per-fragment memo; not reusable across documents)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        costs: CostModel,
        default_list_size: int,
        fragments: Mapping[str, FragmentDefinitionNode],
        variable_defaults: Mapping[str, Any],
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.schema = schema
        self.costs = costs
        self.default_list_size = max(0, default_list_size)
        self.fragments = fragments
        self.variable_defaults = variable_defaults
        self.variables = variables
        self.variable_sliced = False
        self._memo: dict[tuple[str, Sized], Stats] = {}
        self._active: set[str] = set()

    def measure(self, operation: OperationDefinitionNode) -> Measured:
        root = self.schema.get_root_type(operation.operation)
        stats = self._selection_set(operation.selection_set, root, _NONE)
        return Measured(stats.depth, stats.aliases, stats.top, stats.fields, stats.cost, self.variable_sliced)

    # --- walking ---------------------------------------------------------------------------
    def _selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, sized: Sized) -> Stats:
        depth = aliases = fields = top = cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                stats = self._field(selection, parent, sized)
                top += 1
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                stats = self._selection_set(selection.selection_set, target, sized)
                top += stats.top
            elif isinstance(selection, FragmentSpreadNode):
                stats = self._fragment(selection.name.value, sized)
                top += stats.top
            else:  # pragma: no cover - graphql-core has no other selection kind
                continue
            depth = max(depth, stats.depth)
            aliases += stats.aliases
            fields += stats.fields
            cost += stats.cost
        return Stats(depth, aliases, fields, top, cost)

    def _fragment(self, name: str, sized: Sized) -> Stats:
        key = (name, sized)
        known = self._memo.get(key)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self._active:
            return ZERO  # unknown fragment or a cycle: validation reports both
        self._active.add(name)
        try:
            target = self.schema.get_type(fragment.type_condition.name.value)
            stats = self._selection_set(fragment.selection_set, target, sized)
        finally:
            self._active.discard(name)
        self._memo[key] = stats
        return stats

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None, sized: Sized) -> Stats:
        name = node.name.value
        definition = _field_definition(self.schema, parent, name)
        alias = 1 if node.alias is not None else 0
        if definition is None:  # unknown field: validation rejects it; count its shape anyway
            child = self._selection_set(node.selection_set, None, _NONE) if node.selection_set else ZERO
            return Stats(1 + child.depth, alias + child.aliases, 1 + child.fields, 1, child.cost)
        return_type, lists = _unwrap(definition.type)
        if name in INTROSPECTION_FIELDS:  # answered by the gateway itself: bounded by depth and fields
            child = self._selection_set(node.selection_set, return_type, _NONE) if node.selection_set else ZERO
            return Stats(1 + child.depth, alias + child.aliases, 1 + child.fields, 1, 0)
        coordinate = f"{parent.name}.{name}" if parent is not None else name
        costs = self.costs
        weight = costs.field_weights.get(coordinate)
        if weight is None:
            weight = costs.type_weights.get(return_type.name, 1 if is_composite_type(return_type) else 0)
        argument_cost = 0
        if costs.argument_weights:
            for argument in node.arguments or ():
                argument_cost += costs.argument_weights.get(f"{coordinate}({argument.name.value}:)", 0)
        multiplier = 1
        child_sized = _NONE
        list_size = costs.list_sizes.get(coordinate)
        slice_value = self._slicing_value(node, definition, list_size)
        sized_fields = list_size.sized_fields if list_size is not None else ()
        if list_size is None and not lists and slice_value is not None:
            sized_fields = tuple(f for f in CONNECTION_FIELDS if _has_field(return_type, f))
        if sized_fields and not lists:
            size = slice_value if slice_value is not None else self._assumed(list_size)
            child_sized = frozenset((f, size) for f in sized_fields)
        if lists:
            given = dict(sized).get(name) if sized else None
            if given is None:
                given = slice_value if slice_value is not None else self._assumed(list_size)
            multiplier = given**lists
        child = self._selection_set(node.selection_set, return_type, child_sized) if node.selection_set else ZERO
        cost = argument_cost + multiplier * (weight + child.cost)
        return Stats(1 + child.depth, alias + child.aliases, 1 + child.fields, 1, cost)

    # --- list sizes --------------------------------------------------------------------------
    def _assumed(self, list_size: ListSize | None) -> int:
        if list_size is not None and list_size.assumed_size is not None:
            return max(0, list_size.assumed_size)
        return self.default_list_size

    def _slicing_value(self, node: FieldNode, definition: GraphQLField, list_size: ListSize | None) -> int | None:
        names = list_size.slicing_arguments if list_size is not None else CONVENTIONAL_SLICING
        if not names or not node.arguments:
            return None
        best: int | None = None
        for argument in node.arguments:
            if argument.name.value not in names or argument.name.value not in definition.args:
                continue
            value = self._int_value(argument.value)
            if value is not None:
                best = value if best is None else max(best, value)
        return best

    def _int_value(self, value: ValueNode) -> int | None:
        if isinstance(value, IntValueNode):
            return max(0, int(value.value))
        if isinstance(value, VariableNode):
            self.variable_sliced = True
            name = value.name.value
            given = self.variables.get(name) if self.variables is not None else None
            if given is None:
                given = self.variable_defaults.get(name)
            if isinstance(given, int) and not isinstance(given, bool):
                return max(0, given)
        return None


def _field_definition(schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is not None and parent is schema.query_type:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return parent.fields.get(name)
    return None


def _unwrap(type_: GraphQLOutputType) -> tuple[GraphQLNamedType, int]:
    """The named type and how many list wrappers sit around it."""
    lists = 0
    current: Any = type_
    while isinstance(current, GraphQLNonNull | GraphQLList):
        if isinstance(current, GraphQLList):
            lists += 1
        current = current.of_type
    return current, lists


def _has_field(type_: GraphQLNamedType, name: str) -> bool:
    return isinstance(type_, GraphQLObjectType | GraphQLInterfaceType) and name in type_.fields
