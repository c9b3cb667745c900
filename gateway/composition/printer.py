"""Prints the supergraph model as SDL, laid out like the reference composer's output."""

from __future__ import annotations

from graphql import print_ast
from graphql.language.print_string import print_string

from .join_spec import (
    AUTHENTICATED_DIRECTIVE,
    AUTHENTICATED_URL,
    CONTEXT_DIRECTIVE,
    CONTEXT_URL,
    CORE_DIRECTIVES,
    CORE_TYPES,
    COST_DIRECTIVE,
    COST_URL,
    FROM_CONTEXT_DIRECTIVE,
    INACCESSIBLE_DIRECTIVE,
    INACCESSIBLE_URL,
    JOIN_URL,
    LINK_URL,
    LIST_SIZE_DIRECTIVE,
    POLICY_DIRECTIVE,
    POLICY_URL,
    REQUIRES_SCOPES_DIRECTIVE,
    REQUIRES_SCOPES_URL,
    TAG_DIRECTIVE,
    TAG_URL,
)
from .model import Decorations, Kind
from .supergraph_model import ComposedFeature, JoinField, JoinType, SEnumValue, SField, SInputValue, SType, Supergraph

_KEYWORDS = {
    Kind.OBJECT: "type",
    Kind.INTERFACE: "interface",
    Kind.UNION: "union",
    Kind.ENUM: "enum",
    Kind.INPUT_OBJECT: "input",
    Kind.SCALAR: "scalar",
}


def print_supergraph(supergraph: Supergraph) -> str:
    uses_tag = supergraph.uses("tags")
    uses_inaccessible = supergraph.uses("inaccessible")
    uses_cost = supergraph.uses("cost") or supergraph.uses("list_size")
    access = _access_specs(supergraph)
    blocks = [_schema(supergraph, uses_tag, uses_inaccessible, uses_cost, access)]
    directives = dict(CORE_DIRECTIVES)
    for name, (_, definition, _) in access.items():
        directives[name] = definition
    if "context" in access:
        directives["context__fromContext"] = FROM_CONTEXT_DIRECTIVE
    if uses_cost:
        directives["cost"] = COST_DIRECTIVE
        directives["listSize"] = LIST_SIZE_DIRECTIVE
    if uses_tag:
        directives["tag"] = TAG_DIRECTIVE
    if uses_inaccessible:
        directives["inaccessible"] = INACCESSIBLE_DIRECTIVE
    for node in supergraph.executable_directives:
        directives[node.name.value] = print_ast(node)
    for composed in supergraph.composed_features:
        for directive in composed.directives:
            directives[directive.name] = print_ast(directive.definition)
    blocks.extend(directives[name] for name in sorted(directives, key=str.lower))
    types = dict(CORE_TYPES)
    for _, _, scalar in access.values():
        if scalar:
            types[scalar] = f"scalar {scalar}"
    types["join__Graph"] = _graph_enum(supergraph)
    for stype in supergraph.types.values():
        types[stype.name] = _type(stype)
    blocks.extend(types[name] for name in sorted(types, key=lambda n: (n.lower(), n)))
    return "\n\n".join(blocks) + "\n"


def _access_specs(supergraph: Supergraph) -> dict[str, tuple[str, str, str | None]]:
    """The access-control specs in use: directive name -> (spec URL, definition, its scalar)."""
    specs = {
        "authenticated": ("authenticated", AUTHENTICATED_URL, AUTHENTICATED_DIRECTIVE, None),
        "requiresScopes": ("requires_scopes", REQUIRES_SCOPES_URL, REQUIRES_SCOPES_DIRECTIVE, "requiresScopes__Scope"),
        "policy": ("policies", POLICY_URL, POLICY_DIRECTIVE, "policy__Policy"),
        "context": ("contexts", CONTEXT_URL, CONTEXT_DIRECTIVE, "context__ContextFieldValue"),
    }
    return {
        name: (url, definition, scalar)
        for name, (attribute, url, definition, scalar) in specs.items()
        if supergraph.uses(attribute)
    }


def _schema(
    supergraph: Supergraph,
    uses_tag: bool,
    uses_inaccessible: bool,
    uses_cost: bool = False,
    access: dict[str, tuple[str, str, str | None]] | None = None,
) -> str:
    links = [f'@link(url: "{LINK_URL}")', f'@link(url: "{JOIN_URL}", for: EXECUTION)']
    if uses_tag:
        links.append(f'@link(url: "{TAG_URL}")')
    if uses_inaccessible:
        links.append(f'@link(url: "{INACCESSIBLE_URL}", for: SECURITY)')
    for url, _, _ in (access or {}).values():
        links.append(f'@link(url: "{url}", for: SECURITY)')
    if uses_cost:
        links.append(f'@link(url: "{COST_URL}", import: ["@cost", "@listSize"])')
    links.extend(_composed_link(c) for c in supergraph.composed_features)
    ops = "".join(f"  {op}: {name}\n" for op, name in supergraph.roots.items())
    return "schema\n" + "".join(f"  {link}\n" for link in links) + "{\n" + ops + "}"


def _composed_link(composed: ComposedFeature) -> str:
    imports = [
        print_string(f"@{d.name}")
        if d.name == d.name_in_feature
        else f"{{name: {print_string('@' + d.name_in_feature)}, as: {print_string('@' + d.name)}}}"
        for d in composed.directives
    ]
    return f"@link(url: {print_string(composed.feature.url)}, import: [{', '.join(imports)}])"


def _graph_enum(supergraph: Supergraph) -> str:
    values = "".join(
        f"  {g.enum_value} @join__graph(name: {print_string(g.name)}, url: {print_string(g.url)})\n"
        for g in supergraph.graphs
    )
    return "enum join__Graph {\n" + values + "}"


def _description(text: str | None, indent: str) -> str:
    if not text:
        return ""
    escaped = text.replace('"""', '\\"""')
    if "\n" not in text and len(text) <= 70 and not text.endswith(('"', "\\")):
        return f'{indent}"""{escaped}"""\n'
    lines = "".join(f"{indent}{line}\n" if line else "\n" for line in escaped.split("\n"))
    return f'{indent}"""\n{lines}{indent}"""\n'


def _args(pairs: list[tuple[str, str | None]]) -> str:
    present = [f"{name}: {value}" for name, value in pairs if value is not None]
    return f"({', '.join(present)})" if present else ""


def _join_type(jt: JoinType) -> str:
    return "@join__type" + _args(
        [
            ("graph", jt.graph),
            ("key", print_string(jt.key) if jt.key is not None else None),
            ("extension", "true" if jt.extension else None),
            ("resolvable", None if jt.resolvable else "false"),
            ("isInterfaceObject", "true" if jt.is_interface_object else None),
        ]
    )


def _join_field(jf: JoinField) -> str:
    def s(value: str | None) -> str | None:
        return print_string(value) if value is not None else None

    return "@join__field" + _args(
        [
            ("graph", jf.graph),
            ("requires", s(jf.requires)),
            ("provides", s(jf.provides)),
            ("type", s(jf.type)),
            ("external", "true" if jf.external else None),
            ("override", s(jf.override)),
            ("overrideLabel", s(jf.override_label)),
            ("usedOverridden", "true" if jf.used_overridden else None),
            ("contextArguments", _context_arguments(jf) if jf.context_arguments else None),
        ]
    )


def _context_arguments(jf: JoinField) -> str:
    items = [
        f"{{context: {print_string(a.context)}, name: {print_string(a.name)}, type: {print_string(a.type)}, "
        f"selection: {print_string(a.selection)}}}"
        for a in jf.context_arguments
    ]
    return "[" + ", ".join(items) + "]"


def _string_lists(clauses: tuple[tuple[str, ...], ...]) -> str:
    return "[" + ", ".join("[" + ", ".join(print_string(v) for v in c) + "]" for c in clauses) + "]"


def _decorations(deco: Decorations, joins: list[str]) -> list[str]:
    """Applied directives in the reference composer's order: @inaccessible, join, @tag, @deprecated."""
    out: list[str] = []
    if deco.inaccessible:
        out.append("@inaccessible")
    out.extend(joins)
    out.extend(f"@context(name: {print_string(name)})" for name in deco.contexts)
    out.extend(print_ast(d) for d in deco.custom)
    out.extend(f"@tag(name: {print_string(tag)})" for tag in deco.tags)
    if deco.authenticated:
        out.append("@authenticated")
    if deco.requires_scopes is not None:
        out.append(f"@requiresScopes(scopes: {_string_lists(deco.requires_scopes)})")
    if deco.policies is not None:
        out.append(f"@policy(policies: {_string_lists(deco.policies)})")
    if deco.cost is not None:
        out.append(f"@cost(weight: {deco.cost})")
    if deco.list_size is not None:
        out.append(f"@listSize{deco.list_size}")
    if deco.deprecated is not None:
        reason = deco.deprecated
        out.append("@deprecated" if reason == "No longer supported" else f"@deprecated(reason: {print_string(reason)})")
    if deco.specified_by is not None:
        out.append(f"@specifiedBy(url: {print_string(deco.specified_by)})")
    return out


def _input_value(value: SInputValue, indent: str | None) -> str:
    text = f"{value.name}: {value.type}"
    if value.default is not None:
        text += f" = {print_ast(value.default)}"
    directives = _decorations(value.deco, [_join_field(j) for j in value.joins])
    if directives:
        text += " " + " ".join(directives)
    if indent is None:
        return text
    return _description(value.description, indent) + indent + text


def _field(f: SField) -> str:
    args = ""
    if f.args:
        if any(a.description for a in f.args.values()):
            inner = "\n".join(_input_value(a, "    ") for a in f.args.values())
            args = f"(\n{inner}\n  )"
        else:
            args = "(" + ", ".join(_input_value(a, None) for a in f.args.values()) + ")"
    directives = _decorations(f.deco, [_join_field(j) for j in f.joins])
    suffix = (" " + " ".join(directives)) if directives else ""
    return _description(f.description, "  ") + f"  {f.name}{args}: {f.type}{suffix}"


def _enum_value(v: SEnumValue) -> str:
    joins = [f"@join__enumValue(graph: {g})" for g in v.graphs]
    directives = _decorations(v.deco, joins)
    return _description(v.description, "  ") + f"  {v.name}" + (" " + " ".join(directives) if directives else "")


def _type(t: SType) -> str:
    header = _description(t.description, "") + f"{_KEYWORDS[t.kind]} {t.name}"
    if t.interfaces:
        header += " implements " + " & ".join(t.interfaces)
    joins = [f'@join__implements(graph: {g}, interface: "{i}")' for g, i in t.implements]
    joins += [_join_type(jt) for jt in t.join_types]
    joins += [f'@join__unionMember(graph: {g}, member: "{m}")' for g, m in t.union_members]
    directives = _decorations(t.deco, joins)
    header += "".join(f"\n  {d}" for d in directives)
    if t.kind == Kind.SCALAR:
        return header
    if t.kind == Kind.UNION:
        return header + ("\n = " + " | ".join(t.members) if t.members else "")
    if t.kind == Kind.ENUM:
        body = "\n".join(_enum_value(v) for v in t.values.values())
    elif t.kind == Kind.INPUT_OBJECT:
        body = "\n".join(_input_value(v, "  ") for v in t.input_fields.values())
    else:
        body = "\n".join(_field(f) for f in t.fields.values())
    return header + ("\n{\n" if directives else " {\n") + body + "\n}"
