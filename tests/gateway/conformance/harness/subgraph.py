"""SDL-first fixture subgraphs that implement the Apollo subgraph spec on top of graphql-core.

A fixture is declared by its federation SDL (Fed 2 with ``@link`` or Fed 1 with ``extend type``),
a map of field resolvers and a map of entity resolvers.  The SDL is served verbatim from
``_service { sdl }``; ``_entities(representations:)`` dispatches on ``__typename``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLResolveInfo,
    GraphQLSchema,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    build_ast_schema,
    parse,
)
from graphql.language import DefinitionNode, InterfaceTypeDefinitionNode, InterfaceTypeExtensionNode

Resolver = Callable[..., Any]
EntityResolver = Callable[[dict[str, Any]], Any]

_FEDERATION_ADDITIONS = """
scalar _Any
type _Service { sdl: String! }
"""


@dataclass
class Subgraph:
    """One fixture subgraph.

    ``resolvers`` maps ``"Type.field"`` to ``fn(parent, info, **args)``; fields without a resolver
    read the parent dict.  ``entities`` maps a ``__typename`` to ``fn(representation) -> dict | None``.
    Returned dicts for abstract types carry ``__typename``.
    ``delay`` (seconds) makes every answer slow; ``garbage`` makes it answer a non-GraphQL body.
    """

    name: str
    sdl: str
    resolvers: dict[str, Resolver] = field(default_factory=dict)
    entities: dict[str, EntityResolver] = field(default_factory=dict)
    delay: float = 0.0
    garbage: bool = False
    down: bool = False
    _schema: GraphQLSchema | None = field(default=None, init=False, repr=False)

    @property
    def schema(self) -> GraphQLSchema:
        if self._schema is None:
            self._schema = build_executable_schema(self)
        return self._schema


def _type_name(node: DefinitionNode) -> str | None:
    name = getattr(node, "name", None)
    return name.value if name is not None else None


def _has_key(node: DefinitionNode) -> bool:
    return any(d.name.value == "key" for d in getattr(node, "directives", None) or ())


def _normalise(document: DocumentNode) -> tuple[list[DefinitionNode], list[str]]:
    """Turn ``extend type X`` without a base definition into ``type X``; list entity type names."""
    defined = {
        _type_name(d)
        for d in document.definitions
        if isinstance(d, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode)
    }
    out: list[DefinitionNode] = []
    promoted: set[str] = set()
    for definition in document.definitions:
        name = _type_name(definition)
        if isinstance(definition, ObjectTypeExtensionNode) and name not in defined and name not in promoted:
            promoted.add(name or "")
            definition = ObjectTypeDefinitionNode(
                name=definition.name,
                interfaces=definition.interfaces,
                directives=definition.directives,
                fields=definition.fields,
            )
        elif isinstance(definition, InterfaceTypeExtensionNode) and name not in defined and name not in promoted:
            promoted.add(name or "")
            definition = InterfaceTypeDefinitionNode(
                name=definition.name,
                interfaces=definition.interfaces,
                directives=definition.directives,
                fields=definition.fields,
            )
        out.append(definition)
    entity_names: list[str] = []
    for definition in out:
        if isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode) and _has_key(definition):
            name = _type_name(definition)
            if name and name not in entity_names:
                entity_names.append(name)
    return out, entity_names


def build_executable_schema(subgraph: Subgraph) -> GraphQLSchema:
    document = parse(subgraph.sdl)
    definitions, entity_names = _normalise(document)
    has_query = any(isinstance(d, ObjectTypeDefinitionNode) and _type_name(d) == "Query" for d in definitions)
    extra = _FEDERATION_ADDITIONS
    if not has_query:
        extra += "type Query { _service: _Service! }\n"
    else:
        extra += "extend type Query { _service: _Service! }\n"
    if entity_names:
        extra += f"union _Entity = {' | '.join(entity_names)}\n"
        extra += "extend type Query { _entities(representations: [_Any!]!): [_Entity]! }\n"
    full = DocumentNode(definitions=(*definitions, *parse(extra).definitions))
    # assume_valid_sdl: federation directives are not declared; they are inert for execution.
    schema = build_ast_schema(full, assume_valid_sdl=True)
    _attach_resolvers(schema, subgraph)
    return schema


def _attach_resolvers(schema: GraphQLSchema, subgraph: Subgraph) -> None:
    for key, fn in subgraph.resolvers.items():
        type_name, field_name = key.split(".", 1)
        gql_type = schema.get_type(type_name)
        if gql_type is None or not hasattr(gql_type, "fields") or field_name not in gql_type.fields:
            raise ValueError(f"{subgraph.name}: no field {key} to attach a resolver to")
        gql_type.fields[field_name].resolve = _wrap(fn)
    query = schema.query_type
    assert query is not None
    query.fields["_service"].resolve = lambda _root, _info: {"sdl": subgraph.sdl}
    if "_entities" in query.fields:
        query.fields["_entities"].resolve = _entities_resolver(subgraph)


def _wrap(fn: Resolver) -> Resolver:
    def resolve(parent: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return fn(parent, info, **args)

    return resolve


def _entities_resolver(subgraph: Subgraph) -> Callable[..., Awaitable[list[Any]]]:
    async def resolve(_root: Any, _info: GraphQLResolveInfo, representations: list[Any]) -> list[Any]:
        results: list[Any] = []
        for representation in representations:
            typename = representation.get("__typename")
            resolver = subgraph.entities.get(typename)
            if resolver is None:
                # Entities without a dedicated resolver are answered from the representation.
                results.append(dict(representation))
                continue
            value = resolver(representation)
            if inspect.isawaitable(value):
                value = await value
            if isinstance(value, dict) and "__typename" not in value:
                value = {"__typename": typename, **value}
            results.append(value)
        return results

    return resolve
