"""Derive the client-facing API schema from a supergraph document.

Removes the join/link/core machinery (directive definitions, `join__*`/`link__*` types), every
`@inaccessible` element and all type-system directive applications except the standard ones.

The definitions of custom directives kept by `@composeDirective` (those of linked features that are not
federation specs) stay, so introspection lists them: our choice, @apollo/gateway removes every linked
feature. Only their type-system locations stay (clients cannot use them in operations), and one whose
arguments use a removed type is dropped.
"""

from __future__ import annotations

from typing import Any, TypeVar

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    Node,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    build_ast_schema,
    parse,
    validate_schema,
)

from .links import collect_links
from .parse import Names, SupergraphError, named_type_of

_KEPT_DIRECTIVES = frozenset({"deprecated", "specifiedBy", "oneOf"})
EXECUTABLE_LOCATIONS = frozenset(
    {
        "QUERY",
        "MUTATION",
        "SUBSCRIPTION",
        "FIELD",
        "FRAGMENT_DEFINITION",
        "FRAGMENT_SPREAD",
        "INLINE_FRAGMENT",
        "VARIABLE_DEFINITION",
    }
)
_N = TypeVar("_N", bound=Node)


def _with(node: _N, **changes: Any) -> _N:
    values = {key: getattr(node, key) for key in node.keys}
    values.update(changes)
    return type(node)(**values)


def _keep_directives(directives: Any) -> tuple[DirectiveNode, ...]:
    return tuple(d for d in directives or () if d.name.value in _KEPT_DIRECTIVES)


def _inaccessible(node: Any, names: Names) -> bool:
    return any(d.name.value == names.inaccessible for d in getattr(node, "directives", None) or ())


def api_document(document: DocumentNode) -> DocumentNode:
    names = Names.resolve(collect_links(document))
    machinery_directives = {
        d.name.value
        for d in document.definitions
        if isinstance(d, DirectiveDefinitionNode) and _is_machinery_directive(d.name.value, names)
    }
    removed: set[str] = set()
    for definition in document.definitions:
        if isinstance(definition, TypeDefinitionNode):
            name = definition.name.value
            if names.is_machinery_type(name) or _inaccessible(definition, names):
                removed.add(name)

    custom = [f for f in collect_links(document) if f.is_custom]
    out: list[Any] = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if definition.name.value in machinery_directives or _is_machinery_directive(definition.name.value, names):
                continue
            if any(f.owns_directive(definition.name.value) for f in custom):
                kept = _composed_directive(definition, removed)
                if kept is not None:
                    out.append(kept)
                continue
            out.append(definition)
        elif isinstance(definition, SchemaDefinitionNode):
            ops = tuple(op for op in definition.operation_types if op.type.name.value not in removed)
            out.append(_with(definition, directives=(), operation_types=ops))
        elif isinstance(definition, TypeDefinitionNode):
            if definition.name.value in removed:
                continue
            out.append(_clean_type(definition, names, removed))
        # schema extensions and type extensions do not appear in supergraphs; drop them.
    return DocumentNode(definitions=tuple(out))


def _composed_directive(definition: DirectiveDefinitionNode, removed: set[str]) -> DirectiveDefinitionNode | None:
    if any(named_type_of(a.type) in removed for a in definition.arguments or ()):
        return None
    locations = tuple(loc for loc in definition.locations if loc.value not in EXECUTABLE_LOCATIONS)
    return _with(definition, locations=locations) if locations else None


def _is_machinery_directive(name: str, names: Names) -> bool:
    if name in ("link", "core", names.inaccessible, names.tag):
        return True
    if name.startswith(("join__", "link__", "core__")):
        return True
    return any(feature.owns_directive(name) for feature in names.machinery)


def _clean_type(definition: TypeDefinitionNode, names: Names, removed: set[str]) -> TypeDefinitionNode:
    changes: dict[str, Any] = {"directives": _keep_directives(definition.directives)}
    if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
        fields = []
        for field in definition.fields or ():
            if _inaccessible(field, names) or named_type_of(field.type) in removed:
                continue
            args = tuple(
                _with(a, directives=_keep_directives(a.directives))
                for a in field.arguments or ()
                if not _inaccessible(a, names) and named_type_of(a.type) not in removed
            )
            fields.append(_with(field, arguments=args, directives=_keep_directives(field.directives)))
        changes["fields"] = tuple(fields)
        changes["interfaces"] = tuple(i for i in definition.interfaces or () if i.name.value not in removed)
    elif isinstance(definition, UnionTypeDefinitionNode):
        changes["types"] = tuple(t for t in definition.types or () if t.name.value not in removed)
    elif isinstance(definition, EnumTypeDefinitionNode):
        changes["values"] = tuple(
            _with(v, directives=_keep_directives(v.directives))
            for v in definition.values or ()
            if not _inaccessible(v, names)
        )
    elif isinstance(definition, InputObjectTypeDefinitionNode):
        changes["fields"] = tuple(
            _with(f, directives=_keep_directives(f.directives))
            for f in definition.fields or ()
            if not _inaccessible(f, names) and named_type_of(f.type) not in removed
        )
    return _with(definition, **changes)


# The gateway serves incremental delivery (docs/gateway.md, "Incremental delivery").
DEFER_DIRECTIVE = parse(
    "directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT", no_location=True
).definitions[0]


def build_api_schema(sdl_or_document: str | DocumentNode) -> GraphQLSchema:
    document = parse(sdl_or_document, no_location=True) if isinstance(sdl_or_document, str) else sdl_or_document
    api = api_document(document)
    if not any(isinstance(d, DirectiveDefinitionNode) and d.name.value == "defer" for d in api.definitions):
        api = DocumentNode(definitions=(*api.definitions, DEFER_DIRECTIVE))
    schema = build_ast_schema(api)
    errors = validate_schema(schema)
    if errors:
        raise SupergraphError("invalid API schema: " + "; ".join(e.message for e in errors))
    return schema
