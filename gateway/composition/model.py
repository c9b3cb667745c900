"""Normalised view of one federation subgraph, independent of how its SDL spelled things.

Federation directive names are canonical here (`key`, `external`, ...), whatever the subgraph
imported or renamed them to, and root types are always `Query` / `Mutation` / `Subscription`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from graphql.language import DirectiveDefinitionNode, DirectiveNode, ValueNode

from .links import DirectiveNames
from .typeref import TypeRef


class Kind(Enum):
    OBJECT = "Object Type"
    INTERFACE = "Interface Type"
    UNION = "Union Type"
    ENUM = "Enum Type"
    INPUT_OBJECT = "Input Object Type"
    SCALAR = "Scalar Type"


ROOT_KINDS = ("query", "mutation", "subscription")
ROOT_NAMES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


@dataclass
class Decorations:
    """Directives carried through to the supergraph unchanged."""

    tags: list[str] = field(default_factory=list)
    inaccessible: bool = False
    deprecated: str | None = None  # the reason; "" is not used, None means not deprecated
    specified_by: str | None = None
    # demand control (https://specs.apollo.dev/cost/v0.1): @cost's weight, @listSize's printed arguments
    cost: int | None = None
    list_size: str | None = None
    # access control (authenticated/v0.1, requiresScopes/v0.1, policy/v0.1): enforced by the gateway
    authenticated: bool = False
    requires_scopes: tuple[tuple[str, ...], ...] | None = None  # OR of ANDs
    policies: tuple[tuple[str, ...], ...] | None = None
    # @context names a type sets (context/v0.1), qualified by subgraph: `<subgraph>__<name>`
    contexts: list[str] = field(default_factory=list)
    # applications of directives the subgraph composes with @composeDirective (all of them once merged,
    # until compose_directives picks what the supergraph keeps)
    custom: list[DirectiveNode] = field(default_factory=list)


@dataclass
class InputValue:
    """A field argument or an input-object field."""

    name: str
    type: TypeRef
    default: ValueNode | None = None
    description: str | None = None
    deco: Decorations = field(default_factory=Decorations)


@dataclass(frozen=True)
class ContextArgument:
    """An argument with `@fromContext(field: "$name selection")`: not part of the supergraph field's
    arguments, carried as `@join__field(contextArguments:)` (join v0.5)."""

    name: str
    type: str
    context: str  # qualified: `<subgraph>__<name>`
    selection: str  # the field value after the context name, e.g. " { prop }"


@dataclass
class Field:
    name: str
    type: TypeRef
    args: dict[str, InputValue] = field(default_factory=dict)
    description: str | None = None
    deco: Decorations = field(default_factory=Decorations)
    external: bool = False
    shareable: bool = False
    provides: str | None = None
    requires: str | None = None
    override_from: str | None = None
    override_label: str | None = None
    context_arguments: list[ContextArgument] = field(default_factory=list)


@dataclass
class Key:
    fields: str
    resolvable: bool = True
    extension: bool = False


@dataclass
class EnumValue:
    name: str
    description: str | None = None
    deco: Decorations = field(default_factory=Decorations)


@dataclass
class TypeDef:
    name: str
    kind: Kind
    description: str | None = None
    deco: Decorations = field(default_factory=Decorations)
    fields: dict[str, Field] = field(default_factory=dict)
    input_fields: dict[str, InputValue] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, EnumValue] = field(default_factory=dict)
    keys: list[Key] = field(default_factory=list)
    extension: bool = False  # `@extends`, or only ever written as `extend type`
    extends: bool = False  # the `@extends` directive itself (Federation 1 keeps only this as an extension)
    interface_object: bool = False

    @property
    def is_composite(self) -> bool:
        return self.kind in (Kind.OBJECT, Kind.INTERFACE, Kind.UNION)


@dataclass
class Subgraph:
    name: str
    url: str
    fed1: bool
    types: dict[str, TypeDef] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)  # operation -> type name present here
    executable_directives: dict[str, DirectiveDefinitionNode] = field(default_factory=dict)
    directive_definitions: dict[str, DirectiveDefinitionNode] = field(default_factory=dict)  # custom ones
    compose_directive_names: list[str] = field(default_factory=list)  # the `@composeDirective(name:)`s
    names: DirectiveNames = field(default_factory=lambda: DirectiveNames(federation_version=None))

    def type(self, name: str) -> TypeDef | None:
        return self.types.get(name)

    def field(self, type_name: str, field_name: str) -> Field | None:
        t = self.types.get(type_name)
        return t.fields.get(field_name) if t else None

    def implementations(self, interface: str) -> list[TypeDef]:
        return [t for t in self.types.values() if interface in t.interfaces]

    def possible_types(self, name: str) -> list[TypeDef]:
        """Object types a value of the (possibly abstract) type `name` can be in this subgraph."""
        t = self.types.get(name)
        if t is None:
            return []
        if t.kind == Kind.UNION:
            return [self.types[m] for m in t.members if m in self.types]
        if t.kind == Kind.INTERFACE:
            return [i for i in self.implementations(name) if i.kind == Kind.OBJECT]
        return [t]
