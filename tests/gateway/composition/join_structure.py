"""The join directives of a supergraph as comparable data, whatever its layout or join spec version.

``join_structure(sdl)`` maps each schema element (``Type``, ``Type.field``, ``Enum.VALUE``,
``Input.field``, ``@directive``) to the sorted join directives on it, each as a tuple of
(name, ((argument, value), ...)) with defaults filled in and field sets normalised, so two supergraphs
that mean the same compare equal: element order, directive order, whitespace inside field sets and
omitted default arguments do not matter.
"""

from __future__ import annotations

import re

from graphql import parse, print_ast
from graphql.language import (
    DirectiveDefinitionNode,
    DirectiveNode,
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    ValueNode,
)

_WITH_FIELDS = (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode, InputObjectTypeDefinitionNode)
Directive = tuple[str, tuple[tuple[str, str], ...]]
Structure = dict[str, list[Directive]]

JOIN_DIRECTIVES = ("join__type", "join__field", "join__implements", "join__unionMember", "join__enumValue")
# Argument defaults of the join spec (v0.3 to v0.5): an omitted argument and its default mean the same.
_DEFAULTS = {
    "join__type": {"extension": "false", "resolvable": "true", "isInterfaceObject": "false"},
    "join__field": {"external": "false", "usedOverridden": "false"},
}
_FIELD_SET_ARGS = frozenset({"key", "requires", "provides"})
_SPEC_PREFIXES = ("join__", "link__")
# Directives of linked specs: the reference composer names them as the first subgraph did (e.g.
# `@federation__tag`), ours by their spec names; only other (custom) directive definitions compare.
_SPEC_DIRECTIVES = frozenset(
    {"link", "tag", "inaccessible", "cost", "listSize", "authenticated", "requiresScopes", "policy", "context"}
)


def normalise_field_set(text: str) -> str:
    """`id  customer{ id }` -> `id customer { id }`."""
    printed = print_ast(parse("{" + text + "}", no_location=True).definitions[0])
    return re.sub(r"\s+", " ", printed).strip()[2:-2]


def _value(argument: str, node: ValueNode) -> str:
    if argument in _FIELD_SET_ARGS and isinstance(node, StringValueNode):
        return normalise_field_set(node.value)
    return print_ast(node)


def _directive(node: DirectiveNode) -> Directive:
    name = node.name.value
    args = dict(_DEFAULTS.get(name, {}))
    for arg in node.arguments or ():
        args[arg.name.value] = _value(arg.name.value, arg.value)
    return name, tuple(sorted(args.items()))


def _is_custom(definition: DirectiveDefinitionNode) -> bool:
    return definition.name.value not in _SPEC_DIRECTIVES and "__" not in definition.name.value


def join_structure(sdl: str) -> Structure:
    """Join directives and the applications of custom directives (`@composeDirective`), per element;
    custom directive definitions (`@name`) and the schema's `@link`s to non-Apollo specs (`schema`)."""
    document = parse(sdl, no_location=True)
    custom = {d.name.value for d in document.definitions if isinstance(d, DirectiveDefinitionNode) and _is_custom(d)}
    kept = frozenset(JOIN_DIRECTIVES) | custom

    def _joins(directives: tuple[DirectiveNode, ...] | None) -> list[Directive]:
        return sorted(_directive(d) for d in directives or () if d.name.value in kept)

    out: Structure = {}
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode):
            out["schema"] = sorted(
                _directive(d)
                for d in definition.directives or ()
                if d.name.value == "link"
                and not any(
                    a.name.value == "url" and print_ast(a.value).startswith('"https://specs.apollo.dev/')
                    for a in d.arguments or ()
                )
            )
            continue
        if isinstance(definition, DirectiveDefinitionNode):
            if _is_custom(definition):
                out[f"@{definition.name.value}"] = [("definition", (("sdl", print_ast(definition)),))]
            continue
        if not isinstance(definition, TypeDefinitionNode):
            continue
        name = definition.name.value
        if name.startswith(_SPEC_PREFIXES):
            continue
        out[name] = _joins(definition.directives)
        if isinstance(definition, _WITH_FIELDS):
            for f in definition.fields or ():
                out[f"{name}.{f.name.value}"] = _joins(f.directives)
        elif isinstance(definition, EnumTypeDefinitionNode):
            for v in definition.values or ():
                out[f"{name}.{v.name.value}"] = _joins(v.directives)
        elif isinstance(definition, UnionTypeDefinitionNode):
            out[f"{name}|members"] = [
                ("member", (("name", m.name.value),))
                for m in sorted(definition.types or (), key=lambda m: m.name.value)
            ]
    return out


def graphs(sdl: str) -> list[tuple[str, str, str]]:
    """(enum value, name, url) of every subgraph in `join__Graph`."""
    for definition in parse(sdl, no_location=True).definitions:
        if isinstance(definition, EnumTypeDefinitionNode) and definition.name.value == "join__Graph":
            out = []
            for v in definition.values or ():
                args = {a.name.value: print_ast(a.value) for d in v.directives or () for a in d.arguments or ()}
                out.append((v.name.value, args.get("name", ""), args.get("url", "")))
            return sorted(out)
    return []


def differences(reference: Structure, ours: Structure) -> list[str]:
    """Human-readable lines, one per element whose join directives differ."""
    lines: list[str] = []
    for element in sorted(set(reference) | set(ours)):
        if element not in ours:
            lines.append(f"{element}: missing from ours (reference: {reference[element]})")
        elif element not in reference:
            lines.append(f"{element}: only in ours ({ours[element]})")
        elif reference[element] != ours[element]:
            lines.append(f"{element}:\n  reference: {reference[element]}\n  ours:      {ours[element]}")
    return lines
