"""Resolution of `@link` imports: which local directive name means which federation directive."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from graphql.language import (
    DirectiveNode,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
)

FEDERATION_DIRECTIVES = (
    "key",
    "requires",
    "provides",
    "external",
    "tag",
    "extends",
    "shareable",
    "inaccessible",
    "override",
    "composeDirective",
    "interfaceObject",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
    "fromContext",
    "cost",
    "listSize",
    "cacheTag",
)
# The federation spec versions @apollo/composition 2.14 knows, and since which one each element exists.
FEDERATION_VERSIONS = frozenset((2, minor) for minor in range(15))
_SINCE = {
    "@composeDirective": (2, 1),
    "@interfaceObject": (2, 3),
    "@authenticated": (2, 5),
    "@requiresScopes": (2, 5),
    "Scope": (2, 5),
    "@policy": (2, 6),
    "Policy": (2, 6),
    "@context": (2, 8),
    "@fromContext": (2, 8),
    "ContextFieldValue": (2, 8),
    "@cost": (2, 9),
    "@listSize": (2, 9),
    "@cacheTag": (2, 12),
}
_FEDERATION_ELEMENTS = frozenset({*(f"@{d}" for d in FEDERATION_DIRECTIVES), "FieldSet", *_SINCE})
FED1_DIRECTIVES = ("key", "requires", "provides", "external", "extends", "tag", "inaccessible")
# Specs whose single directive carries the spec's own name (e.g. `@link(url: ".../tag/v0.3")`).
SINGLE_DIRECTIVE_SPECS = ("tag", "inaccessible")
# Types that belong to the link / federation machinery and never reach the supergraph.
MACHINERY_TYPES = frozenset(
    {"_Service", "_Entity", "_Any", "_FieldSet", "FieldSet", "link__Import", "link__Purpose", "Import", "Purpose"}
)

_APOLLO_SPECS = "https://specs.apollo.dev/"
_SPEC_URL = re.compile(r"^(?P<base>.+)/(?P<name>[A-Za-z_][A-Za-z0-9_-]*)/v(?P<major>\d+)\.(?P<minor>\d+)/?$")


@dataclass
class LinkInfo:
    url: str
    name: str
    version: tuple[int, int]
    prefix: str
    imports: dict[str, str] = field(default_factory=dict)  # imported name (no "@") -> local name
    imported_names: list[str] = field(default_factory=list)  # as written, "@key" or "FieldSet"

    @property
    def identity(self) -> str:
        """The url without its version: `https://myspecs.dev/cache`."""
        return self.url.rstrip("/").rsplit("/", 1)[0]

    def name_in_feature(self, local: str) -> str | None:
        """The spec name of the directive this schema calls `local`, if the feature defines it."""
        for imported, alias in self.imports.items():
            if alias == local:
                return imported
        if local == self.prefix:
            return self.name
        if local.startswith(f"{self.prefix}__"):
            return local[len(self.prefix) + 2 :]
        return None


@dataclass
class DirectiveNames:
    """Maps the directive names a subgraph uses to canonical federation directive names."""

    federation_version: tuple[int, int] | None  # None for a Federation 1 subgraph
    link_name: str = "link"
    canonical_by_local: dict[str, str] = field(default_factory=dict)
    machinery_prefixes: tuple[str, ...] = ("link__", "federation__")
    # every `@link` of a feature other than link / federation / tag / inaccessible (custom directives)
    features: list[LinkInfo] = field(default_factory=list)
    federation_locals: set[str] = field(default_factory=set)  # local names of the federation spec's directives

    @property
    def fed1(self) -> bool:
        return self.federation_version is None

    def canonical(self, local: str) -> str | None:
        return self.canonical_by_local.get(local)

    def is_machinery_type(self, name: str) -> bool:
        return name in MACHINERY_TYPES or name.startswith(self.machinery_prefixes)


class LinkError(ValueError):
    def __init__(self, message: str, code: str = "INVALID_LINK_DIRECTIVE_USAGE") -> None:
        super().__init__(message)
        self.code = code


def _check_federation_link(link: LinkInfo, imported: Iterable[str]) -> None:
    if link.version not in FEDERATION_VERSIONS:
        raise LinkError(
            f"Invalid version v{link.version[0]}.{link.version[1]} for the federation feature in @link directive on "
            "schema",
            "UNKNOWN_FEDERATION_LINK_VERSION",
        )
    for name in imported:
        if name not in _FEDERATION_ELEMENTS or _SINCE.get(name, (2, 0)) > link.version:
            raise LinkError(f'Cannot import unknown element "{name}".')


def _string(node: object) -> str | None:
    return node.value if isinstance(node, StringValueNode) else None


def parse_link(directive: DirectiveNode) -> LinkInfo:
    args = {arg.name.value: arg.value for arg in directive.arguments or ()}
    url = _string(args.get("url"))
    if url is None:
        raise LinkError("@link is missing its url: String argument")
    match = _SPEC_URL.match(url)
    if match is None:
        raise LinkError(f'@link url "{url}" is not of the form <base>/<name>/v<major>.<minor>')
    name = match.group("name")
    prefix = _string(args.get("as")) or name
    info = LinkInfo(url, name, (int(match.group("major")), int(match.group("minor"))), prefix)
    imports = args.get("import")
    items = imports.values if isinstance(imports, ListValueNode) else ()
    for item in items:
        if isinstance(item, StringValueNode):
            imported, alias = item.value, item.value
        elif isinstance(item, ObjectValueNode):
            fields = {f.name.value: _string(f.value) for f in item.fields}
            imported = fields.get("name") or ""
            alias = fields.get("as") or imported
        else:
            raise LinkError(f'@link(url: "{url}") has an invalid import entry')
        if imported.startswith("@") != alias.startswith("@"):
            raise LinkError(f'@link(url: "{url}") import "{imported}" cannot be renamed to "{alias}"')
        info.imports[imported.lstrip("@")] = alias.lstrip("@")
        info.imported_names.append(imported)
    if info.name == "federation" and url.startswith(_APOLLO_SPECS):
        _check_federation_link(info, info.imported_names)
    return info


def resolve_names(schema_directives: Iterable[DirectiveNode]) -> DirectiveNames:
    """Build the name mapping from the directives on `schema` / `extend schema`."""
    links = [parse_link(d) for d in schema_directives if d.name.value == "link"]
    federation = next((link for link in links if link.name == "federation"), None)
    if federation is None:
        names = DirectiveNames(federation_version=None)
        for directive in FEDERATION_DIRECTIVES:
            names.canonical_by_local[directive] = directive
    else:
        names = DirectiveNames(federation_version=federation.version)
        for directive in FEDERATION_DIRECTIVES:
            local = federation.imports.get(directive, f"{federation.prefix}__{directive}")
            names.canonical_by_local[local] = directive
    names.federation_locals = set(names.canonical_by_local)
    prefixes = {"link__", "federation__"}
    for link in links:
        if link.name == "link":
            names.link_name = link.imports.get("link", link.prefix)
            prefixes.add(f"{link.prefix}__")
        elif link.name in SINGLE_DIRECTIVE_SPECS:
            local = link.imports.get(link.name, link.prefix)
            names.canonical_by_local[local] = link.name
        elif link.name == "federation":
            prefixes.add(f"{link.prefix}__")
        else:
            names.features.append(link)
    names.machinery_prefixes = tuple(sorted(prefixes))
    return names
