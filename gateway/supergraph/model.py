"""Immutable model of a parsed supergraph: subgraphs, and per type/field which subgraphs own what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class TypeKind(StrEnum):
    OBJECT = "OBJECT"
    INTERFACE = "INTERFACE"
    UNION = "UNION"
    ENUM = "ENUM"
    INPUT_OBJECT = "INPUT_OBJECT"
    SCALAR = "SCALAR"


@dataclass(frozen=True, slots=True)
class Subgraph:
    name: str
    enum_value: str
    url: str


@dataclass(frozen=True, slots=True)
class Key:
    """One `@key` of a type in one subgraph (field set kept as text, parsed by the planner)."""

    graph: str
    fields: str
    resolvable: bool = True


@dataclass(frozen=True, slots=True)
class TypeInGraph:
    graph: str
    keys: tuple[Key, ...] = ()
    extension: bool = False
    is_interface_object: bool = False


@dataclass(frozen=True, slots=True)
class ContextArgument:
    """One `@join__field(contextArguments:)` entry (join v0.5): the argument `name` (of subgraph type
    `type`) takes its value from `selection` on the nearest ancestor that sets `context`."""

    name: str
    type: str
    context: str
    selection: str


@dataclass(frozen=True, slots=True)
class FieldInGraph:
    graph: str
    requires: str | None = None
    provides: str | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    override_label: str | None = None
    used_overridden: bool = False
    context_arguments: tuple[ContextArgument, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    type_str: str
    named_type: str
    # Subgraphs that declare the field, with the join__field details for each.
    graphs: Mapping[str, FieldInGraph]
    inaccessible: bool = False


@dataclass(frozen=True, slots=True)
class TypeDef:
    name: str
    kind: TypeKind
    graphs: Mapping[str, TypeInGraph]
    fields: Mapping[str, FieldDef] = field(default_factory=dict)
    # interface names implemented, per subgraph (join__implements)
    implements: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # union members per subgraph (join__unionMember)
    union_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # enum value -> subgraphs that know it (join__enumValue); empty when not annotated
    enum_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    inaccessible: bool = False
    # True when the supergraph had no join__type at all for this type (Fed 1 value types).
    unowned: bool = False

    def keys_in(self, graph: str) -> tuple[Key, ...]:
        info = self.graphs.get(graph)
        return info.keys if info else ()

    def is_interface_object_in(self, graph: str) -> bool:
        info = self.graphs.get(graph)
        return bool(info and info.is_interface_object)


@dataclass(frozen=True, slots=True)
class Supergraph:
    subgraphs: Mapping[str, Subgraph]  # by subgraph name
    types: Mapping[str, TypeDef]
    query_type: str
    mutation_type: str | None
    subscription_type: str | None
    # Every @join__field overrideLabel in the supergraph.
    override_labels: frozenset[str]
    join_version: str
    sdl: str
    # Supergraph-wide possible types of abstract types (API view, including inaccessible types).
    possible_types: Mapping[str, frozenset[str]]
    has_join_implements: bool
    # @context names (join v0.5) -> the types that set them
    contexts: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def subgraph_names(self) -> tuple[str, ...]:
        return tuple(self.subgraphs)

    def root_type(self, operation: str) -> str | None:
        if operation == "query":
            return self.query_type
        if operation == "mutation":
            return self.mutation_type
        return self.subscription_type
