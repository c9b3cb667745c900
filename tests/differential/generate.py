"""Generated read operations over the shop's API schema, for differential testing.

For every root query field: one operation with its leaf fields, then one per composite child with a
small selection (a few leaves, and the leaves of its composite children: depth 3 from the root).
Unions and interfaces select ``__typename`` and an inline fragment per possible type. Required
arguments come from example values (ids and SKUs of the running shop); a field whose required
arguments have no example is left out and named in ``Generated.skipped``. A seeded random choice
picks the leaves, so the set is the same from run to run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)

SEED = 13
LEAVES_PER_OBJECT = 3
PAGE_SIZE = 3


@dataclass(frozen=True)
class Operation:
    name: str
    document: str
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Generated:
    operations: list[Operation]
    skipped: list[str]


class _Builder:
    def __init__(self, schema: GraphQLSchema, examples: Mapping[str, Any], seed: int) -> None:
        self.schema = schema
        self.examples = examples
        self.rng = random.Random(seed)
        self.skipped: list[str] = []

    # --- arguments ------------------------------------------------------------------
    def arguments(
        self, owner: str, name: str, spec: GraphQLField, given: Mapping[str, Any] | None = None
    ) -> str | None:
        """The argument list of a field, or None when a required argument has no example value."""
        parts = []
        for arg_name, arg in sorted(spec.args.items()):
            value = (given or {}).get(arg_name, _UNSET)
            if value is _UNSET:
                value = self._argument(owner, name, arg_name, arg)
            if value is _MISSING:
                self.skipped.append(f"{owner}.{name}({arg_name}:)")
                return None
            if value is not _OMIT:
                parts.append(f"{arg_name}: {_literal(value)}")
        return f"({', '.join(parts)})" if parts else ""

    def _argument(self, owner: str, name: str, arg_name: str, arg: GraphQLArgument) -> Any:
        for key in (f"{owner}.{name}.{arg_name}", f"{name}.{arg_name}", arg_name):
            if key in self.examples:
                return self.examples[key]
        if arg_name == "first":
            return PAGE_SIZE
        if is_non_null_type(arg.type) and not _has_default(arg):
            return _MISSING
        return _OMIT

    # --- selections -----------------------------------------------------------------
    def leaves(self, parent: GraphQLObjectType | GraphQLInterfaceType, limit: int | None = None) -> list[str]:
        chosen = []
        for name, spec in parent.fields.items():
            if not is_leaf_type(get_named_type(spec.type)):
                continue
            args = self.arguments(parent.name, name, spec)
            if args is not None:
                chosen.append(name + args)
        if limit is not None and len(chosen) > limit:
            keep = {"id"} if "id" in parent.fields else set()
            rest = [c for c in chosen if c not in keep]
            chosen = sorted(keep) + sorted(self.rng.sample(rest, limit - len(keep)))
        return chosen

    def selection(self, named: GraphQLNamedType, depth: int) -> str:
        """``{ ... }`` for a composite type: leaves, plus composite children while depth > 1."""
        if isinstance(named, GraphQLUnionType):
            members = " ".join(f"... on {t.name} {self.selection(t, depth)}" for t in named.types)
            return f"{{ __typename {members} }}"
        assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        parts = self.leaves(named, LEAVES_PER_OBJECT)
        if depth > 1:
            for name, spec in named.fields.items():
                child = get_named_type(spec.type)
                if is_leaf_type(child):
                    continue
                args = self.arguments(named.name, name, spec)
                if args is not None:
                    parts.append(f"{name}{args} {self.selection(child, depth - 1)}")
        if isinstance(named, GraphQLInterfaceType):
            parts.insert(0, "__typename")
        return "{ " + " ".join(parts or ["__typename"]) + " }"

    def root_operations(self, *, children: bool = True) -> list[Operation]:
        query = self.schema.query_type
        assert query is not None
        operations = []
        for root_name, root in sorted(query.fields.items()):
            args = self.arguments("Query", root_name, root)
            if args is None:
                continue
            named = get_named_type(root.type)
            if isinstance(named, GraphQLUnionType):
                body = self.selection(named, 2)
                operations.append(_operation(f"{root_name}", f"{root_name}{args} {body}"))
                continue
            assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
            leaves = self.leaves(named) or ["__typename"]
            operations.append(_operation(root_name, f"{root_name}{args} {{ {' '.join(leaves)} }}"))
            if not children:
                continue
            operations += self.enum_variants(root_name, root, self.selection(named, 2))
            for child_name, child in named.fields.items():
                child_type = get_named_type(child.type)
                if is_leaf_type(child_type):
                    continue
                child_args = self.arguments(named.name, child_name, child)
                if child_args is None:
                    continue
                key = self.leaves(named, 1)
                body = f"{child_name}{child_args} {self.selection(child_type, 2)}"
                operations.append(_operation(f"{root_name}_{child_name}",
                                             f"{root_name}{args} {{ {' '.join(key)} {body} }}"))
        return operations


    def enum_variants(self, root_name: str, root: GraphQLField, body: str) -> list[Operation]:
        """One operation per value of each optional enum argument of a root field."""
        operations = []
        for arg_name, arg in sorted(root.args.items()):
            enum = get_named_type(arg.type)
            if not isinstance(enum, GraphQLEnumType) or f"{root_name}.{arg_name}" in self.examples:
                continue
            for value in enum.values:
                args = self.arguments("Query", root_name, root, {arg_name: Enum(value)})
                if args is not None:
                    operations.append(_operation(f"{root_name}_{arg_name}_{value}",
                                                 f"{root_name}{args} {body}"))
        return operations


def _has_default(arg: GraphQLArgument) -> bool:
    """graphql-core 3.3 keeps an SDL default as ``arg.default`` (a literal), older ones as ``default_value``."""
    return getattr(arg, "default", None) is not None or arg.default_value is not Undefined


class _Sentinel:
    pass


_MISSING = _Sentinel()
_UNSET = _Sentinel()
_OMIT = _Sentinel()


def _literal(value: Any) -> str:
    """A GraphQL literal: JSON, with input-object keys unquoted and enums given as ``Enum(NAME)``."""
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return json.dumps(value)


@dataclass(frozen=True)
class Enum:
    """An enum value among example arguments (printed bare)."""

    name: str


def _operation(name: str, selection: str) -> Operation:
    op_name = "Gen_" + "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    return Operation(op_name, f"query {op_name} {{ {selection} }}")


def generate(
    schema: GraphQLSchema, examples: Mapping[str, Any], *, seed: int = SEED, children: bool = True
) -> Generated:
    """Operations over every root query field; ``examples`` maps ``Type.field.arg``, ``field.arg``
    or ``arg`` to a value (``Enum("NAME")`` for enums). ``children=False``: only each root field's
    leaves (e.g. for unknown ids, or anonymous callers)."""
    builder = _Builder(schema, examples, seed)
    return Generated(builder.root_operations(children=children), sorted(set(builder.skipped)))
