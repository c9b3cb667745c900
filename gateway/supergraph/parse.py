"""Parse a Federation supergraph SDL (join v0.1 .. v0.5, @link or @core) into the immutable model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    parse,
)
from graphql.error import GraphQLError

from .links import LinkedFeature, collect_links, directive_args, find_feature
from .model import ContextArgument, FieldDef, FieldInGraph, Key, Subgraph, Supergraph, TypeDef, TypeInGraph, TypeKind


class SupergraphError(ValueError):
    """The SDL is not a supergraph this gateway can read."""


_KINDS: dict[type, TypeKind] = {
    ObjectTypeDefinitionNode: TypeKind.OBJECT,
    InterfaceTypeDefinitionNode: TypeKind.INTERFACE,
    UnionTypeDefinitionNode: TypeKind.UNION,
    EnumTypeDefinitionNode: TypeKind.ENUM,
    InputObjectTypeDefinitionNode: TypeKind.INPUT_OBJECT,
    ScalarTypeDefinitionNode: TypeKind.SCALAR,
}


def named_type_of(node: TypeNode) -> str:
    while isinstance(node, NonNullTypeNode | ListTypeNode):
        node = node.type
    assert isinstance(node, NamedTypeNode)
    return node.name.value


def type_to_str(node: TypeNode) -> str:
    if isinstance(node, NonNullTypeNode):
        return type_to_str(node.type) + "!"
    if isinstance(node, ListTypeNode):
        return "[" + type_to_str(node.type) + "]"
    assert isinstance(node, NamedTypeNode)
    return node.name.value


@dataclass(frozen=True, slots=True)
class Names:
    """Local names of the machinery directives in this particular supergraph."""

    join: LinkedFeature | None
    graph_enum: str
    join_graph: str
    join_type: str
    join_field: str
    join_owner: str
    join_implements: str
    join_union_member: str
    join_enum_value: str
    inaccessible: str
    tag: str
    machinery: tuple[LinkedFeature, ...]  # every linked feature but the custom ones (`@composeDirective`)

    @classmethod
    def resolve(cls, features: list[LinkedFeature]) -> Names:
        join = find_feature(features, "join")
        inacc = find_feature(features, "inaccessible")
        tag = find_feature(features, "tag")

        def j(name: str) -> str:
            return join.directive(name) if join else f"join__{name}"

        return cls(
            join=join,
            graph_enum=join.type_name("Graph") if join else "join__Graph",
            join_graph=j("graph"),
            join_type=j("type"),
            join_field=j("field"),
            join_owner=j("owner"),
            join_implements=j("implements"),
            join_union_member=j("unionMember"),
            join_enum_value=j("enumValue"),
            inaccessible=inacc.directive("inaccessible") if inacc else "inaccessible",
            tag=tag.directive("tag") if tag else "tag",
            machinery=tuple(f for f in features if not f.is_custom),
        )

    def is_machinery_type(self, name: str) -> bool:
        if name in ("join__FieldSet", "join__Graph", "link__Import", "link__Purpose", "core__Purpose"):
            return True
        if name.startswith(("join__", "link__", "core__")):
            return True
        for feature in self.machinery:
            if feature.name in ("inaccessible", "tag"):
                continue
            if feature.owns_type(name):
                return True
        return False


def _directives(nodes: Iterable[DirectiveNode] | None, name: str) -> list[dict[str, object]]:
    return [directive_args(d) for d in nodes or () if d.name.value == name]


def _has_directive(nodes: Iterable[DirectiveNode] | None, name: str) -> bool:
    return any(d.name.value == name for d in nodes or ())


def parse_supergraph(sdl: str) -> Supergraph:
    try:
        document = parse(sdl, no_location=True)
    except GraphQLError as exc:
        raise SupergraphError(f"supergraph SDL does not parse: {exc.message}") from exc
    return build_supergraph(document, sdl)


def build_supergraph(document: DocumentNode, sdl: str) -> Supergraph:
    features = collect_links(document)
    names = Names.resolve(features)
    definitions: dict[str, TypeDefinitionNode] = {}
    schema_def: SchemaDefinitionNode | None = None
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode):
            schema_def = definition
        elif isinstance(definition, TypeDefinitionNode):
            definitions[definition.name.value] = definition

    subgraphs, enum_to_name = _read_graphs(definitions, names)
    types: dict[str, TypeDef] = {}
    labels: set[str] = set()
    has_implements = False
    for name, node in definitions.items():
        if names.is_machinery_type(name) or type(node) not in _KINDS:
            continue
        typedef, node_labels, used_implements = _read_type(node, names, enum_to_name)
        has_implements = has_implements or used_implements
        labels |= node_labels
        types[name] = typedef

    roots = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}
    if schema_def is not None:
        roots = {"query": "", "mutation": "", "subscription": ""}
        for op in schema_def.operation_types:
            roots[op.operation.value] = op.type.name.value
    query_type = roots.get("query") or "Query"
    if query_type not in types:
        raise SupergraphError("supergraph has no query root type")
    possible = _possible_types(definitions, types)
    version = names.join.version if names.join else "0.1"
    return Supergraph(
        subgraphs=subgraphs,
        types=types,
        query_type=query_type,
        mutation_type=roots.get("mutation") if roots.get("mutation") in types else None,
        subscription_type=roots.get("subscription") if roots.get("subscription") in types else None,
        override_labels=frozenset(labels),
        join_version=version,
        sdl=sdl,
        possible_types=possible,
        has_join_implements=has_implements,
        contexts=_contexts(definitions, features),
    )


def _read_graphs(
    definitions: dict[str, TypeDefinitionNode], names: Names
) -> tuple[dict[str, Subgraph], dict[str, str]]:
    enum = definitions.get(names.graph_enum)
    if not isinstance(enum, EnumTypeDefinitionNode):
        raise SupergraphError(f"supergraph has no {names.graph_enum} enum: is this a Federation supergraph?")
    subgraphs: dict[str, Subgraph] = {}
    enum_to_name: dict[str, str] = {}
    for value in enum.values or ():
        graph_args = _directives(value.directives, names.join_graph)
        if not graph_args:
            raise SupergraphError(f"{names.graph_enum}.{value.name.value} has no @{names.join_graph}")
        args = graph_args[0]
        name = str(args.get("name") or value.name.value)
        url = str(args.get("url") or "")
        subgraphs[name] = Subgraph(name=name, enum_value=value.name.value, url=url)
        enum_to_name[value.name.value] = name
    return subgraphs, enum_to_name


def _graph(args: dict[str, object], enum_to_name: dict[str, str]) -> str | None:
    raw = args.get("graph")
    if not isinstance(raw, str):
        return None
    return enum_to_name.get(raw, raw)


def _read_type(node: TypeDefinitionNode, names: Names, enum_to_name: dict[str, str]) -> tuple[TypeDef, set[str], bool]:
    kind = _KINDS[type(node)]
    keys: dict[str, list[Key]] = {}
    flags: dict[str, tuple[bool, bool]] = {}
    for args in _directives(node.directives, names.join_type):
        graph = _graph(args, enum_to_name)
        if graph is None:
            continue
        keys.setdefault(graph, [])
        key = args.get("key")
        if isinstance(key, str):
            resolvable = args.get("resolvable")
            keys[graph].append(Key(graph=graph, fields=key, resolvable=resolvable is not False))
        prev_ext, prev_io = flags.get(graph, (False, False))
        flags[graph] = (
            prev_ext or bool(args.get("extension")),
            prev_io or bool(args.get("isInterfaceObject")),
        )
    owner: str | None = None
    for args in _directives(node.directives, names.join_owner):
        owner = _graph(args, enum_to_name)
    graphs = {
        g: TypeInGraph(graph=g, keys=tuple(k), extension=flags[g][0], is_interface_object=flags[g][1])
        for g, k in keys.items()
    }
    unowned = not graphs
    all_graphs = tuple(enum_to_name.values())
    type_graphs: tuple[str, ...] = tuple(graphs) if graphs else all_graphs

    implements: dict[str, set[str]] = {}
    used_implements = False
    for args in _directives(node.directives, names.join_implements):
        graph = _graph(args, enum_to_name)
        interface = args.get("interface")
        if graph and isinstance(interface, str):
            implements.setdefault(graph, set()).add(interface)
            used_implements = True
    members: dict[str, set[str]] = {}
    for args in _directives(node.directives, names.join_union_member):
        graph = _graph(args, enum_to_name)
        member = args.get("member")
        if graph and isinstance(member, str):
            members.setdefault(graph, set()).add(member)

    labels: set[str] = set()
    fields: dict[str, FieldDef] = {}
    field_nodes: tuple[FieldDefinitionNode, ...] = tuple(getattr(node, "fields", None) or ())
    for fnode in field_nodes:
        fdef = _read_field(fnode, names, enum_to_name, owner, type_graphs, labels)
        fields[fdef.name] = fdef
    enum_values: dict[str, frozenset[str]] = {}
    if isinstance(node, EnumTypeDefinitionNode):
        for value in node.values or ():
            graphs_for_value = {
                g for args in _directives(value.directives, names.join_enum_value) if (g := _graph(args, enum_to_name))
            }
            if graphs_for_value:
                enum_values[value.name.value] = frozenset(graphs_for_value)
    typedef = TypeDef(
        name=node.name.value,
        kind=kind,
        graphs=graphs,
        fields=fields,
        implements={g: frozenset(v) for g, v in implements.items()},
        union_members={g: frozenset(v) for g, v in members.items()},
        enum_values=enum_values,
        inaccessible=_has_directive(node.directives, names.inaccessible),
        unowned=unowned,
    )
    return typedef, labels, used_implements


def _read_field(
    fnode: FieldDefinitionNode,
    names: Names,
    enum_to_name: dict[str, str],
    owner: str | None,
    type_graphs: tuple[str, ...],
    labels: set[str],
) -> FieldDef:
    join_fields = _directives(fnode.directives, names.join_field)
    graphs: dict[str, FieldInGraph] = {}
    has_bare = False
    for args in join_fields:
        graph = _graph(args, enum_to_name)
        if graph is None:
            has_bare = True
            continue
        label = args.get("overrideLabel")
        if isinstance(label, str):
            labels.add(label)
        graphs[graph] = FieldInGraph(
            graph=graph,
            requires=_opt_str(args.get("requires")),
            provides=_opt_str(args.get("provides")),
            type=_opt_str(args.get("type")),
            external=bool(args.get("external")),
            override=_opt_str(args.get("override")),
            override_label=label if isinstance(label, str) else None,
            used_overridden=bool(args.get("usedOverridden")),
            context_arguments=_context_arguments(args.get("contextArguments")),
        )
    if not graphs and not has_bare:
        # No join__field: Fed 1 owned types resolve through the owner, otherwise every graph of the type.
        for graph in (owner,) if owner else type_graphs:
            graphs[graph] = FieldInGraph(graph=graph)
    return FieldDef(
        name=fnode.name.value,
        type_str=type_to_str(fnode.type),
        named_type=named_type_of(fnode.type),
        graphs=graphs,
        inaccessible=_has_directive(fnode.directives, names.inaccessible),
    )


def _context_arguments(value: object) -> tuple[ContextArgument, ...]:
    out: list[ContextArgument] = []
    wanted = ("name", "type", "context", "selection")
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict) and all(isinstance(item.get(k), str) for k in wanted):
            out.append(ContextArgument(item["name"], item["type"], item["context"], item["selection"]))
    return tuple(out)


def _contexts(definitions: dict[str, TypeDefinitionNode], features: list[LinkedFeature]) -> dict[str, frozenset[str]]:
    """@context names -> the types that set them (the context spec's directive, however linked)."""
    feature = find_feature(features, "context")
    if feature is None:
        return {}
    directive = feature.directive("context")
    out: dict[str, set[str]] = {}
    for name, node in definitions.items():
        for args in _directives(node.directives, directive):
            context = args.get("name")
            if isinstance(context, str):
                out.setdefault(context, set()).add(name)
    return {k: frozenset(v) for k, v in out.items()}


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _possible_types(definitions: dict[str, TypeDefinitionNode], types: dict[str, TypeDef]) -> dict[str, frozenset[str]]:
    possible: dict[str, set[str]] = {}
    for name, node in definitions.items():
        if name not in types:
            continue
        if isinstance(node, ObjectTypeDefinitionNode):
            for iface in node.interfaces or ():
                possible.setdefault(iface.name.value, set()).add(name)
        elif isinstance(node, UnionTypeDefinitionNode):
            possible.setdefault(name, set()).update(m.name.value for m in node.types or ())
    for name, typedef in types.items():
        if typedef.kind is TypeKind.OBJECT:
            possible[name] = {name}
        elif typedef.kind in (TypeKind.INTERFACE, TypeKind.UNION):
            possible.setdefault(name, set())
    return {k: frozenset(v) for k, v in possible.items()}
