"""Compile the client's selection set into a response "shape": per runtime type, the ordered fields
to copy from the merged subgraph data, with their nullability and @skip/@include clauses.

Field collection (fragments, type conditions, merging of repeated fields) happens here once per
cached operation, so shaping a response is a plain walk over dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    get_named_type,
    is_abstract_type,
)

from .operation import CField, Clause, CSel
from .planner import INTROSPECTION_ROOT_FIELDS

# Final: compiled code (mypyc) inlines the field kinds instead of looking them up per field.
LEAF: Final = 0
COMPOSITE: Final = 1
TYPENAME: Final = 2
OPAQUE: Final = 3


def possible_object_types(schema: GraphQLSchema, abstract: GraphQLAbstractType) -> Sequence[GraphQLObjectType]:
    """The object types of an interface or union. graphql-core declares a list but returns a union's
    tuple; read through a Sequence so that compiled code (mypyc checks declared types) accepts both."""
    get: Callable[[GraphQLAbstractType], Sequence[GraphQLObjectType]] = schema.get_possible_types
    return get(abstract)


@dataclass(slots=True)
class ShapeField:
    key: str
    name: str
    kind: int
    nullable: bool
    list_nullable: tuple[bool, ...]  # per list level: whether the items may be null
    sub: ShapeSel | None
    clauses: tuple[Clause, ...] | None  # None: always included; else included when any clause holds
    parent_type: str
    type_name: str = ""  # the field's named type (for error messages)
    # enum leaves: the values the API schema has (a subgraph may return an @inaccessible one)
    enum_values: frozenset[str] | None = None


@dataclass(slots=True)
class ShapeSel:
    fields: tuple[ShapeField, ...]  # object types, and the fallback for unknown runtime types
    by_type: dict[str, tuple[ShapeField, ...]] | None  # abstract types: runtime __typename -> fields
    typename: str | None  # static __typename for object types
    # abstract types: every composite type of the API schema; another __typename (an @inaccessible
    # type) is not shown to the client
    valid_types: frozenset[str] | None = None
    # this shape compiled for the C response writer (execution.response_json), on first use
    writer_plan: Any = field(default=None, compare=False, repr=False)


_Occurrence = tuple[Sequence[CSel], Clause]


class ShapeCompiler:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._composites = frozenset(
            name
            for name, gql_type in schema.type_map.items()
            if is_abstract_type(gql_type) or isinstance(gql_type, GraphQLObjectType)
        )

    def applies(self, condition: str | None, runtime: str) -> bool:
        if condition is None or condition == runtime:
            return True
        cond_type = self.schema.get_type(condition)
        run_type = self.schema.get_type(runtime)
        if cond_type is None or run_type is None or not is_abstract_type(cond_type):
            return False
        if isinstance(run_type, GraphQLObjectType):
            return self.schema.is_sub_type(cond_type, run_type)
        return False

    def compile_root(self, root_type: str, selections: Sequence[CSel]) -> ShapeSel:
        return self.compile(root_type, [(selections, ())])

    def compile(self, type_name: str, occurrences: list[_Occurrence]) -> ShapeSel:
        gql_type = self.schema.get_type(type_name)
        if gql_type is not None and is_abstract_type(gql_type):
            by_type = {
                obj.name: self._fields(obj.name, obj.name, occurrences)
                for obj in possible_object_types(self.schema, gql_type)
            }
            return ShapeSel(self._fields(type_name, type_name, occurrences), by_type, None, self._composites)
        return ShapeSel(self._fields(type_name, type_name, occurrences), None, type_name)

    def _collect(
        self,
        runtime: str,
        sels: Sequence[CSel],
        clause: Clause,
        out: dict[str, list[tuple[CField, Clause]]],
    ) -> None:
        for sel in sels:
            if sel.never:
                continue
            combined = clause + sel.clause
            if isinstance(sel, CField):
                out.setdefault(sel.response_key, []).append((sel, combined))
            elif self.applies(sel.type_condition, runtime):
                self._collect(runtime, sel.selections, combined, out)

    def _fields(self, parent: str, runtime: str, occurrences: list[_Occurrence]) -> tuple[ShapeField, ...]:
        collected: dict[str, list[tuple[CField, Clause]]] = {}
        for sels, clause in occurrences:
            self._collect(runtime, sels, clause, collected)
        parent_type = self.schema.get_type(runtime)
        out: list[ShapeField] = []
        for key, items in collected.items():
            first = items[0][0]
            clauses: tuple[Clause, ...] | None = tuple(c for _, c in items)
            if any(not c for _, c in items):
                clauses = None
            if first.name == "__typename":
                out.append(ShapeField(key, "__typename", TYPENAME, False, (), None, clauses, runtime))
                continue
            is_root = parent_type is self.schema.query_type
            if first.name in INTROSPECTION_ROOT_FIELDS and is_root:
                out.append(ShapeField(key, first.name, OPAQUE, True, (), None, clauses, runtime))
                continue
            fields = getattr(parent_type, "fields", None) or {}
            field_def = fields.get(first.name)
            if field_def is None:
                # a field of a type condition not applying here: validation prevents this
                continue
            nullable, list_nullable = _nullability(field_def.type)
            named = get_named_type(field_def.type)
            if first.selections is None:
                values = frozenset(named.values) if isinstance(named, GraphQLEnumType) else None
                out.append(
                    ShapeField(
                        key, first.name, LEAF, nullable, list_nullable, None, clauses, runtime, named.name, values
                    )
                )
                continue
            sub_occurrences: list[_Occurrence] = [(item.selections or (), clause) for item, clause in items]
            sub = self.compile(named.name, sub_occurrences)
            out.append(
                ShapeField(key, first.name, COMPOSITE, nullable, list_nullable, sub, clauses, runtime, named.name)
            )
        return tuple(out)


def _nullability(gql_type: GraphQLType) -> tuple[bool, tuple[bool, ...]]:
    nullable = not isinstance(gql_type, GraphQLNonNull)
    inner = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
    levels: list[bool] = []
    while isinstance(inner, GraphQLList):
        item = inner.of_type
        levels.append(not isinstance(item, GraphQLNonNull))
        inner = item.of_type if isinstance(item, GraphQLNonNull) else item
    return nullable, tuple(levels)
