"""Turns one subgraph's SDL into the normalised `Subgraph` model.

Handles `@link` imports and renames, the `federation__` prefix, Federation 1 SDLs (no `@link`),
type extensions, renamed root types, and strips the federation machinery (`_Service`, `_entities`...).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from graphql import GraphQLError, IntValueNode, parse, print_ast
from graphql.language import (
    BooleanValueNode,
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    EnumValueDefinitionNode,
    FieldDefinitionNode,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    ValueNode,
)

from ..supergraph.api_schema import EXECUTABLE_LOCATIONS
from .errors import CompositionIssue
from .fieldset import top_level_fields
from .links import DirectiveNames, LinkError, resolve_names
from .merge_values import dnf_conjunction
from .model import ROOT_NAMES, ContextArgument, Decorations, EnumValue, Field, InputValue, Key, Kind, Subgraph, TypeDef
from .typeref import TypeRef

_KIND_BY_NODE: dict[type, Kind] = {
    ObjectTypeDefinitionNode: Kind.OBJECT,
    ObjectTypeExtensionNode: Kind.OBJECT,
    InterfaceTypeDefinitionNode: Kind.INTERFACE,
    InterfaceTypeExtensionNode: Kind.INTERFACE,
    UnionTypeDefinitionNode: Kind.UNION,
    UnionTypeExtensionNode: Kind.UNION,
    EnumTypeDefinitionNode: Kind.ENUM,
    EnumTypeExtensionNode: Kind.ENUM,
    InputObjectTypeDefinitionNode: Kind.INPUT_OBJECT,
    InputObjectTypeExtensionNode: Kind.INPUT_OBJECT,
    ScalarTypeDefinitionNode: Kind.SCALAR,
    ScalarTypeExtensionNode: Kind.SCALAR,
}
BUILTIN_DIRECTIVES = frozenset({"deprecated", "specifiedBy", "oneOf", "include", "skip", "defer", "stream"})
# Federation directives people commonly forget to import; an unknown one of these gets a hint.
_FED_HINT = frozenset({"key", "shareable", "external", "requires", "provides", "override", "inaccessible", "tag"})


class SubgraphParseError(Exception):
    def __init__(self, issues: list[CompositionIssue]) -> None:
        super().__init__("; ".join(i.message for i in issues))
        self.issues = issues


def parse_subgraph(name: str, url: str, sdl: str) -> Subgraph:
    """Parse and normalise; raises SubgraphParseError on invalid SDL or `@link` usage."""
    try:
        document = parse(sdl, no_location=False)
    except GraphQLError as exc:
        raise SubgraphParseError([_issue(name, "INVALID_GRAPHQL", f"[{name}] {exc.message}")]) from exc
    return _Builder(name, url, document).build()


def _issue(subgraph: str, code: str, message: str, coordinate: str | None = None) -> CompositionIssue:
    return CompositionIssue(code, message, [subgraph], coordinate)


def _arg(directive: DirectiveNode, name: str) -> ValueNode | None:
    return next((a.value for a in directive.arguments or () if a.name.value == name), None)


def _str_arg(directive: DirectiveNode, name: str) -> str | None:
    value = _arg(directive, name)
    return value.value if isinstance(value, StringValueNode) else None


_CONTEXT_FIELD = re.compile(r"^\s*\$([A-Za-z_][A-Za-z0-9_]*)(.*)$", re.DOTALL)


def _string_lists(value: ValueNode | None) -> tuple[tuple[str, ...], ...]:
    """`[["a", "b"], ["c"]]` (also `["a"]`, read as `[["a"]]`)."""
    if not isinstance(value, ListValueNode):
        return ((value.value,),) if isinstance(value, StringValueNode) else ()
    out: list[tuple[str, ...]] = []
    for item in value.values:
        if isinstance(item, ListValueNode):
            out.append(tuple(v.value for v in item.values if isinstance(v, StringValueNode)))
        elif isinstance(item, StringValueNode):
            out.append((item.value,))
    return tuple(out)


def _bool_arg(directive: DirectiveNode, name: str, default: bool) -> bool:
    value = _arg(directive, name)
    return value.value if isinstance(value, BooleanValueNode) else default


def _description(node: object) -> str | None:
    desc = getattr(node, "description", None)
    return desc.value if desc is not None else None


class _Builder:
    def __init__(self, name: str, url: str, document: DocumentNode) -> None:
        self.document = document
        self.issues: list[CompositionIssue] = []
        schema_nodes = [d for d in document.definitions if isinstance(d, SchemaDefinitionNode | SchemaExtensionNode)]
        try:
            self.names: DirectiveNames = resolve_names(d for node in schema_nodes for d in node.directives or ())
        except LinkError as exc:
            raise SubgraphParseError([_issue(name, exc.code, f"[{name}] {exc}")]) from exc
        self.subgraph = Subgraph(name, url, fed1=self.names.fed1, names=self.names)
        for node in schema_nodes:
            for directive in node.directives or ():
                if self.names.canonical(directive.name.value) == "composeDirective":
                    self.subgraph.compose_directive_names.append(_str_arg(directive, "name") or "")
        # applications of these are kept (merged into the supergraph if composition accepts them)
        self.composed = {n[1:] for n in self.subgraph.compose_directive_names if n.startswith("@")}
        self.renames: dict[str, str] = {}
        self.declared_roots: dict[str, str] = {}
        for node in schema_nodes:
            for op in node.operation_types or ():
                self.declared_roots[op.operation.value] = op.type.name.value
        for operation, type_name in self.declared_roots.items():
            if type_name != ROOT_NAMES[operation]:
                self.renames[type_name] = ROOT_NAMES[operation]
        self.defined_directives = {d.name.value for d in document.definitions if isinstance(d, DirectiveDefinitionNode)}
        self.has_definition: set[str] = set()
        self.extends: set[str] = set()
        self.external_types: set[str] = set()  # types with a type-level @external

    # -- entry point -------------------------------------------------------------------------
    def build(self) -> Subgraph:
        for definition in self.document.definitions:
            if isinstance(definition, DirectiveDefinitionNode):
                self._directive_definition(definition)
            elif isinstance(definition, TypeDefinitionNode | TypeExtensionNode):
                self._type(definition)
        self._finish()
        if self.issues:
            raise SubgraphParseError(self.issues)
        return self.subgraph

    def _name(self, name: str) -> str:
        return self.renames.get(name, name)

    def _ref(self, node: object) -> TypeRef:
        return TypeRef.from_ast(node, self.renames)  # type: ignore[arg-type]

    def _canonical(self, directive: DirectiveNode, location: str) -> str | None:
        """The canonical federation name of an applied directive, reporting unknown ones."""
        local = directive.name.value
        canonical = self.names.canonical(local)
        if canonical is not None:
            return canonical
        if local in BUILTIN_DIRECTIVES:
            return local
        if local not in self.defined_directives and local != self.names.link_name:
            self.issues.append(
                _issue(
                    self.subgraph.name,
                    "INVALID_GRAPHQL",
                    f'[{self.subgraph.name}] Unknown directive "@{local}" on {location}.'
                    + (" Federation 2 directives must be imported with @link." if local in _FED_HINT else ""),
                    location,
                )
            )
        return None

    def _directive_definition(self, node: DirectiveDefinitionNode) -> None:
        name = node.name.value
        if self.names.canonical(name) or name == self.names.link_name or name in BUILTIN_DIRECTIVES:
            return
        if self.names.is_machinery_type(name) or name.startswith("join__"):
            return
        self.subgraph.directive_definitions[name] = node
        if all(loc.value in EXECUTABLE_LOCATIONS for loc in node.locations):
            self.subgraph.executable_directives[name] = node

    # -- types -------------------------------------------------------------------------------
    def _type(self, node: TypeDefinitionNode | TypeExtensionNode) -> None:
        name = self._name(node.name.value)
        if self.names.is_machinery_type(name):
            return
        kind = _KIND_BY_NODE[type(node)]
        tdef = self.subgraph.types.get(name)
        if tdef is None:
            tdef = self.subgraph.types[name] = TypeDef(name, kind)
        elif tdef.kind != kind:
            self.issues.append(
                _issue(
                    self.subgraph.name,
                    "INVALID_GRAPHQL",
                    f'[{self.subgraph.name}] Type "{name}" is defined both as {tdef.kind.value} and {kind.value}',
                    name,
                )
            )
            return
        is_extension = isinstance(node, TypeExtensionNode)
        if not is_extension:
            self.has_definition.add(name)
            tdef.description = tdef.description or _description(node)
        type_external = type_shareable = False
        for directive in node.directives or ():
            canonical = self._canonical(directive, name)
            if canonical == "key":
                fields = _str_arg(directive, "fields")
                if fields is None:
                    self._bad_directive("KEY_INVALID_FIELDS_TYPE", name, "@key requires a fields: String argument")
                    continue
                tdef.keys.append(Key(fields, _bool_arg(directive, "resolvable", True), is_extension))
            elif canonical == "extends":
                self.extends.add(name)
            elif canonical == "shareable":
                type_shareable = True
            elif canonical == "external":
                type_external = True
                self.external_types.add(name)
            elif canonical == "interfaceObject":
                tdef.interface_object = True
            elif canonical == "specifiedBy":
                tdef.deco.specified_by = _str_arg(directive, "url")
            else:
                self._decorate(tdef.deco, canonical, directive)
        for iface in getattr(node, "interfaces", None) or ():
            iface_name = self._name(iface.name.value)
            if iface_name not in tdef.interfaces:
                tdef.interfaces.append(iface_name)
        for member in getattr(node, "types", None) or ():
            member_name = self._name(member.name.value)
            if member_name not in tdef.members:
                tdef.members.append(member_name)
        for value in getattr(node, "values", None) or ():
            self._enum_value(tdef, value)
        if kind == Kind.INPUT_OBJECT:
            for input_field in node.fields or ():  # type: ignore[union-attr]
                iv = self._input_value(input_field, f"{name}.{input_field.name.value}")
                tdef.input_fields[iv.name] = iv
        elif kind in (Kind.OBJECT, Kind.INTERFACE):
            for field_node in node.fields or ():  # type: ignore[union-attr]
                self._field(tdef, field_node, type_external, type_shareable)

    def _bad_directive(self, code: str, coordinate: str, message: str) -> None:
        self.issues.append(_issue(self.subgraph.name, code, f"[{self.subgraph.name}] {message}", coordinate))

    def _decorate(self, deco: Decorations, canonical: str | None, directive: DirectiveNode) -> None:
        if canonical == "tag":
            tag = _str_arg(directive, "name")
            if tag is not None and tag not in deco.tags:
                deco.tags.append(tag)
        elif canonical == "inaccessible":
            deco.inaccessible = True
        elif canonical == "deprecated":
            deco.deprecated = _str_arg(directive, "reason") or "No longer supported"
        elif canonical == "cost":
            weight = next((a.value for a in directive.arguments or () if a.name.value == "weight"), None)
            if isinstance(weight, IntValueNode):
                deco.cost = int(weight.value)
        elif canonical == "listSize" and directive.arguments:
            deco.list_size = "(" + ", ".join(print_ast(a) for a in directive.arguments) + ")"
        elif canonical == "authenticated":
            deco.authenticated = True
        elif canonical == "context":
            name = _str_arg(directive, "name")
            qualified = f"{self.subgraph.name}__{name}" if name else None
            if qualified is not None and qualified not in deco.contexts:
                deco.contexts.append(qualified)
        elif canonical in ("requiresScopes", "policy"):
            argument = "scopes" if canonical == "requiresScopes" else "policies"
            value = next((a.value for a in directive.arguments or () if a.name.value == argument), None)
            clauses = _string_lists(value)
            if canonical == "requiresScopes":
                deco.requires_scopes = dnf_conjunction(deco.requires_scopes, clauses)
            else:
                deco.policies = dnf_conjunction(deco.policies, clauses)
        elif canonical is None and directive.name.value in self.composed:
            deco.custom.append(directive)

    def _context_argument(self, node: InputValueDefinitionNode, coordinate: str) -> ContextArgument | None:
        """`@fromContext(field: "$ctx { prop }")` on an argument; None for an ordinary argument."""
        for directive in node.directives or ():
            if self._canonical(directive, coordinate) != "fromContext":
                continue
            value = _str_arg(directive, "field") or ""
            match = _CONTEXT_FIELD.match(value)
            if match is None:
                message = f'@fromContext argument does not reference a context "{value}".'
                self._bad_directive("NO_CONTEXT_IN_SELECTION", coordinate, message)
                return None
            context = f"{self.subgraph.name}__{match.group(1)}"
            return ContextArgument(node.name.value, str(self._ref(node.type)), context, match.group(2))
        return None

    def _enum_value(self, tdef: TypeDef, node: EnumValueDefinitionNode) -> None:
        value = tdef.values.setdefault(node.name.value, EnumValue(node.name.value))
        value.description = value.description or _description(node)
        for directive in node.directives or ():
            self._decorate(value.deco, self._canonical(directive, f"{tdef.name}.{value.name}"), directive)

    def _input_value(self, node: InputValueDefinitionNode, coordinate: str) -> InputValue:
        iv = InputValue(node.name.value, self._ref(node.type), node.default_value, _description(node))
        for directive in node.directives or ():
            self._decorate(iv.deco, self._canonical(directive, coordinate), directive)
        return iv

    def _field(self, tdef: TypeDef, node: FieldDefinitionNode, external: bool, shareable: bool) -> None:
        name = node.name.value
        coordinate = f"{tdef.name}.{name}"
        if tdef.name == "Query" and name in ("_service", "_entities"):
            return
        fdef = Field(name, self._ref(node.type), description=_description(node), external=external)
        fdef.shareable = shareable
        for arg in node.arguments or ():
            contextual = self._context_argument(arg, f"{coordinate}({arg.name.value}:)")
            if contextual is not None:
                fdef.context_arguments.append(contextual)
                continue
            fdef.args[arg.name.value] = self._input_value(arg, f"{coordinate}({arg.name.value}:)")
        for directive in node.directives or ():
            canonical = self._canonical(directive, coordinate)
            if canonical == "external":
                fdef.external = True
            elif canonical == "shareable":
                fdef.shareable = True
                if tdef.name == "Subscription":
                    self._bad_directive(
                        "INVALID_FIELD_SHARING",
                        coordinate,
                        "Fields on root level subscription object cannot be marked as shareable",
                    )
            elif canonical in ("provides", "requires"):
                fields = _str_arg(directive, "fields")
                if fields is None:
                    code = f"{canonical.upper()}_INVALID_FIELDS_TYPE"
                    self._bad_directive(code, coordinate, f"@{canonical} requires a fields: String argument")
                elif canonical == "provides":
                    fdef.provides = fields
                else:
                    fdef.requires = fields
            elif canonical == "override":
                fdef.override_from = _str_arg(directive, "from")
                fdef.override_label = _str_arg(directive, "label")
            else:
                self._decorate(fdef.deco, canonical, directive)
        if name in tdef.fields:
            self._bad_directive("INVALID_GRAPHQL", coordinate, f'Field "{coordinate}" can only be defined once.')
            return
        tdef.fields[name] = fdef

    # -- post-processing -----------------------------------------------------------------------
    def _finish(self) -> None:
        sub = self.subgraph
        for tdef in sub.types.values():
            if tdef.name in self.extends:
                tdef.extension = tdef.extends = True
                for key in tdef.keys:
                    key.extension = True
            elif tdef.name not in self.has_definition:
                tdef.extension = True
            if not sub.fed1 and tdef.name in self.external_types:
                # Federation 2 (Apollo's ExternalTester): a type's @external covers all its fields, in
                # whichever definition or extension they are.
                for fdef in tdef.fields.values():
                    fdef.external = True
            self._clear_fake_externals(tdef)
            if sub.fed1:
                # As Apollo's Federation 1 upgrader: `extend type` becomes a plain definition, so only
                # `@extends` still makes a key an extension (`@join__type(..., extension: true)`), and
                # an interface loses its @key and its fields' @provides / @requires.
                for key in tdef.keys:
                    key.extension = tdef.extends
                if tdef.kind == Kind.INTERFACE:
                    tdef.keys = []
                    for fdef in tdef.fields.values():
                        fdef.provides = fdef.requires = None
            if sub.fed1 and tdef.kind == Kind.OBJECT:
                for fdef in tdef.fields.values():
                    fdef.shareable = True
        for operation, type_name in ROOT_NAMES.items():
            if type_name in sub.types:
                sub.roots[operation] = type_name

    @staticmethod
    def _clear_fake_externals(tdef: TypeDef) -> None:
        """`@external` on key fields of a type extension is a Federation 1 idiom, not a real external."""
        for key in tdef.keys:
            if not key.extension:
                continue
            for field_name in top_level_fields(key.fields):
                fdef = tdef.fields.get(field_name)
                if fdef is not None and fdef.external:
                    fdef.external = False


def parse_all(sources: Sequence[tuple[str, str, str]]) -> tuple[list[Subgraph], list[CompositionIssue]]:
    subgraphs: list[Subgraph] = []
    issues: list[CompositionIssue] = []
    for name, url, sdl in sources:
        try:
            subgraphs.append(parse_subgraph(name, url, sdl))
        except SubgraphParseError as exc:
            issues.extend(exc.issues)
    return subgraphs, issues
