"""Measure an operation on its AST, fragments expanded: depth, aliases, root fields, fields, cost.

Runs before graphql-core validation (whose overlapping-fields rule is quadratic in the expanded
selections), so it must itself be cheap on hostile documents: each fragment is measured once per
context and reused (200 fragments spreading each other twice cost 200 walks, not 2**200), and a
fragment cycle counts as empty (validation then rejects it). Numbers are Python ints, so an
exponential expansion is measured exactly rather than overflowing.

Cost follows Apollo's demand-control model (Apollo Router's static estimate): a mutation costs 10
to begin with; a composite field costs 1 (scalars and enums 0) unless `@cost` says otherwise on
the field or its type; a list field multiplies its own and its selections' cost by its size: the
largest slicing argument given (or defaulted in the schema), else `@listSize(assumedSize:)`, else
the default list size; `@listSize(sizedFields:)` gives that size to the named child lists; a
field with `@requires` adds the cost of its required fields (once, as Apollo Router does). Each
argument adds its cost: its `@cost` (scalars, enums: 0 without), an input object 1 unless
`@cost` says otherwise, plus the cost of each input field given (`@cost` on input fields), a list
the sum of its items. With `requireOneSlicingArgument` (the default) a field whose `@listSize`
names slicing arguments must get exactly one (`COST_QUERY_PARSE_FAILURE` otherwise). Without
`@listSize`, an integer `first`, `last` or `limit` argument is taken as the slicing argument (our
extension) and, on a connection (a non-list field whose type has `edges` or `nodes`), it sizes
those fields. Introspection (`__schema`, `__type`) costs nothing: the gateway answers it itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    is_composite_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from .costs import CostModel, ListSize

CONVENTIONAL_SLICING = ("first", "last", "limit")
CONNECTION_FIELDS = ("edges", "nodes")
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
MUTATION_BASE_COST = 10

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
    # a slicing argument (or a costed input) is a variable: measured again with the request's values
    variable_sliced: bool
    # a field breaking its @listSize(requireOneSlicingArgument:) rule, as the refusal's message
    slicing_error: str | None = None


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
        self.slicing_error: str | None = None
        self._memo: dict[tuple[str, Sized], Stats] = {}
        self._active: set[str] = set()

    def measure(self, operation: OperationDefinitionNode) -> Measured:
        root = self.schema.get_root_type(operation.operation)
        stats = self._selection_set(operation.selection_set, root, _NONE)
        cost = stats.cost + (MUTATION_BASE_COST if operation.operation is OperationType.MUTATION else 0)
        return Measured(
            stats.depth, stats.aliases, stats.top, stats.fields, cost, self.variable_sliced, self.slicing_error
        )

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
        for argument in node.arguments or ():
            arg_def = definition.args.get(argument.name.value)
            if arg_def is not None:
                weight_of_arg = costs.argument_weights.get(f"{coordinate}({argument.name.value}:)")
                argument_cost += self._argument_cost(argument.value, arg_def.type, weight_of_arg)
        multiplier = 1
        child_sized = _NONE
        list_size = costs.list_sizes.get(coordinate)
        slice_value = self._slicing_value(node, definition, list_size, coordinate)
        sized_fields = list_size.sized_fields if list_size is not None else ()
        if list_size is None and not lists and slice_value is not None:
            sized_fields = tuple(f for f in CONNECTION_FIELDS if _has_field(return_type, f))
        if sized_fields:
            size = slice_value if slice_value is not None else self._assumed(list_size)
            child_sized = frozenset((f, size) for f in sized_fields)
        if lists:
            given = dict(sized).get(name) if sized else None
            if given is None:
                given = slice_value if slice_value is not None else self._assumed(list_size)
            multiplier = given**lists
        child = self._selection_set(node.selection_set, return_type, child_sized) if node.selection_set else ZERO
        cost = argument_cost + multiplier * (weight + child.cost)
        required = costs.requires.get(coordinate)
        if required is not None and parent is not None:  # the @requires fields are fetched for it
            cost += self._selection_set(required, parent, _NONE).cost
        return Stats(1 + child.depth, alias + child.aliases, 1 + child.fields, 1, cost)

    # --- list sizes --------------------------------------------------------------------------
    def _assumed(self, list_size: ListSize | None) -> int:
        if list_size is not None and list_size.assumed_size is not None:
            return max(0, list_size.assumed_size)
        return self.default_list_size

    def _slicing_value(
        self, node: FieldNode, definition: GraphQLField, list_size: ListSize | None, coordinate: str
    ) -> int | None:
        """The largest slicing argument: given in the operation, else the schema's default for it."""
        names = list_size.slicing_arguments if list_size is not None else CONVENTIONAL_SLICING
        if not names:
            return None
        given: dict[str, int | None] = {}
        if list_size is not None:  # the spec counts schema defaults; our first/last/limit guess does not
            for name in names:
                arg_def = definition.args.get(name)
                default = _default_int(arg_def) if arg_def is not None else None
                if default is not None:
                    given[name] = default
        for argument in node.arguments or ():
            name = argument.name.value
            if name in names and name in definition.args:
                value = self._int_value(argument.value)
                if value is not None or (isinstance(argument.value, VariableNode) and self.variables is None):
                    given[name] = value  # a variable counts as given until its value is known
                elif isinstance(argument.value, NullValueNode):
                    given.pop(name, None)
        one_required = list_size is not None and list_size.require_one_slicing_argument
        if one_required and len(given) != 1 and self.slicing_error is None:
            self.slicing_error = f"Exactly one slicing argument is required on {coordinate}, but found {len(given)}."
        values = [v for v in given.values() if v is not None]
        return max(values) if values else None

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

    # --- arguments ---------------------------------------------------------------------------
    def _argument_cost(self, value: ValueNode, type_: GraphQLInputType, weight: int | None) -> int:
        """An argument's cost (Apollo Router's rules): its `@cost`, 0 without; an input object 1
        unless `@cost` says otherwise, plus its given fields; a list the sum of its items."""
        named, _ = _unwrap(type_)  # type: ignore[arg-type]
        if isinstance(value, NullValueNode):
            return 0
        if isinstance(value, VariableNode):
            if not isinstance(named, GraphQLInputObjectType) and weight is None:
                return 0
            self.variable_sliced = True  # the cost depends on the value: measured per request
            given = self.variables.get(value.name.value) if self.variables is not None else None
            if given is None:
                given = self.variable_defaults.get(value.name.value)
            return self._value_cost(given, type_, weight)
        if isinstance(value, ListValueNode):
            item_type = _list_item(type_)
            return (weight or 0) + sum(self._argument_cost(item, item_type, None) for item in value.values)
        if isinstance(value, ObjectValueNode) and isinstance(named, GraphQLInputObjectType):
            cost = 1 if weight is None else weight
            for field_node in value.fields:
                input_field = named.fields.get(field_node.name.value)
                if input_field is not None:
                    field_weight = self.costs.input_field_weights.get(f"{named.name}.{field_node.name.value}")
                    cost += self._argument_cost(field_node.value, input_field.type, field_weight)
            return cost
        return weight or 0

    def _value_cost(self, value: Any, type_: GraphQLInputType, weight: int | None) -> int:
        """As :meth:`_argument_cost`, for a variable's JSON value."""
        if value is None:
            return 0
        named, _ = _unwrap(type_)  # type: ignore[arg-type]
        if isinstance(value, list):
            item_type = _list_item(type_)
            return (weight or 0) + sum(self._value_cost(item, item_type, None) for item in value)
        if isinstance(value, dict) and isinstance(named, GraphQLInputObjectType):
            cost = 1 if weight is None else weight
            for name, item in value.items():
                input_field = named.fields.get(name)
                if input_field is not None:
                    field_weight = self.costs.input_field_weights.get(f"{named.name}.{name}")
                    cost += self._value_cost(item, input_field.type, field_weight)
            return cost
        return weight or 0


def _default_int(argument: GraphQLArgument) -> int | None:
    default = getattr(argument, "default", None)
    literal = getattr(default, "literal", None)
    if isinstance(literal, IntValueNode):
        return max(0, int(literal.value))
    value = getattr(default, "value", None)
    if value is None or value is Undefined:
        value = argument.default_value
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, value)
    return None


def _list_item(type_: GraphQLInputType) -> GraphQLInputType:
    current: Any = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return current.of_type if isinstance(current, GraphQLList) else current


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
