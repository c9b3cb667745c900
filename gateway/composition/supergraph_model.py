"""The merged supergraph, annotated with the join-spec data needed to print it."""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql.language import DirectiveDefinitionNode, ValueNode

from .links import LinkInfo
from .model import ContextArgument, Decorations, Kind
from .typeref import TypeRef


@dataclass(frozen=True)
class Graph:
    enum_value: str  # e.g. "REVIEWS_SVC"
    name: str
    url: str


@dataclass
class JoinType:
    graph: str
    key: str | None = None
    extension: bool = False
    resolvable: bool = True
    is_interface_object: bool = False


@dataclass
class JoinField:
    graph: str | None  # None: the field is added to an implementation from an @interfaceObject
    requires: str | None = None
    provides: str | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    override_label: str | None = None
    used_overridden: bool = False
    context_arguments: list[ContextArgument] = field(default_factory=list)


@dataclass
class SInputValue:
    name: str
    type: TypeRef
    default: ValueNode | None = None
    description: str | None = None
    deco: Decorations = field(default_factory=Decorations)
    joins: list[JoinField] = field(default_factory=list)


@dataclass
class SField:
    name: str
    type: TypeRef
    args: dict[str, SInputValue] = field(default_factory=dict)
    description: str | None = None
    deco: Decorations = field(default_factory=Decorations)
    joins: list[JoinField] = field(default_factory=list)


@dataclass
class SEnumValue:
    name: str
    description: str | None = None
    deco: Decorations = field(default_factory=Decorations)
    graphs: list[str] = field(default_factory=list)


@dataclass
class SType:
    name: str
    kind: Kind
    description: str | None = None
    deco: Decorations = field(default_factory=Decorations)
    join_types: list[JoinType] = field(default_factory=list)
    fields: dict[str, SField] = field(default_factory=dict)
    input_fields: dict[str, SInputValue] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    implements: list[tuple[str, str]] = field(default_factory=list)  # (graph, interface)
    members: list[str] = field(default_factory=list)
    union_members: list[tuple[str, str]] = field(default_factory=list)  # (graph, member)
    values: dict[str, SEnumValue] = field(default_factory=dict)

    @property
    def graphs(self) -> list[str]:
        seen: list[str] = []
        for jt in self.join_types:
            if jt.graph not in seen:
                seen.append(jt.graph)
        return seen


@dataclass
class ComposedDirective:
    """A custom directive kept by `@composeDirective`."""

    name: str  # in the supergraph: the name the composing subgraphs use
    name_in_feature: str
    feature: LinkInfo  # the latest version a composing subgraph links
    definition: DirectiveDefinitionNode


@dataclass
class ComposedFeature:
    """One `@link` the supergraph gets: the feature and the composed directives it imports."""

    feature: LinkInfo
    directives: list[ComposedDirective] = field(default_factory=list)


@dataclass
class Supergraph:
    graphs: list[Graph] = field(default_factory=list)
    types: dict[str, SType] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)
    executable_directives: list[DirectiveDefinitionNode] = field(default_factory=list)
    composed_features: list[ComposedFeature] = field(default_factory=list)

    def uses(self, attribute: str) -> bool:
        """Whether any element carries a decoration (`tags` or `inaccessible`)."""
        for stype in self.types.values():
            decos = [stype.deco]
            for f in stype.fields.values():
                decos.append(f.deco)
                decos.extend(a.deco for a in f.args.values())
            decos.extend(i.deco for i in stype.input_fields.values())
            decos.extend(v.deco for v in stype.values.values())
            if any(getattr(d, attribute) for d in decos):
                return True
        return False
