"""Resolution of `@link` (link v1.0) and legacy `@core` (core v0.1/v0.2) feature names.

A linked feature's elements are referenced by a local name: imported names keep their (possibly
renamed) import name, everything else is prefixed `<as or spec name>__`, and the directive that has
the feature's own name (`@tag`, `@inaccessible`, `@link`) is referenced without prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graphql import DirectiveNode, DocumentNode, SchemaDefinitionNode, SchemaExtensionNode, value_from_ast_untyped

_APOLLO_SPECS = "https://specs.apollo.dev/"
_URL_RE = re.compile(r"^(?P<base>.*?)/(?P<name>[A-Za-z_][A-Za-z0-9_-]*)/v(?P<version>\d+\.\d+)/?$")


@dataclass(slots=True)
class LinkedFeature:
    url: str
    name: str
    version: str
    prefix: str
    # element name in the spec (directives with "@") -> local name in this schema (with "@")
    imports: dict[str, str] = field(default_factory=dict)
    for_purpose: str | None = None

    @property
    def is_custom(self) -> bool:
        """A feature of the supergraph's own users (linked for `@composeDirective`), not federation machinery."""
        return not self.url.startswith(_APOLLO_SPECS) and self.for_purpose is None

    def directive(self, spec_name: str) -> str:
        """Local name (without "@") of the spec's directive `spec_name`."""
        key = "@" + spec_name
        if key in self.imports:
            return self.imports[key][1:]
        if spec_name == self.name:
            return self.prefix
        return f"{self.prefix}__{spec_name}"

    def type_name(self, spec_name: str) -> str:
        if spec_name in self.imports:
            return self.imports[spec_name]
        return f"{self.prefix}__{spec_name}"

    def owns_type(self, name: str) -> bool:
        return name.startswith(self.prefix + "__") or name in self.imports.values()

    def owns_directive(self, name: str) -> bool:
        local = "@" + name
        return name == self.prefix or name.startswith(self.prefix + "__") or local in self.imports.values()


def _parse_url(url: str) -> tuple[str, str] | None:
    match = _URL_RE.match(url)
    if not match:
        return None
    return match.group("name"), match.group("version")


def _feature_from_args(args: dict[str, object], url_key: str) -> LinkedFeature | None:
    url = args.get(url_key)
    if not isinstance(url, str):
        return None
    parsed = _parse_url(url)
    if parsed is None:
        return None
    name, version = parsed
    prefix = args.get("as")
    feature = LinkedFeature(
        url=url,
        name=name,
        version=version,
        prefix=prefix if isinstance(prefix, str) and prefix else name,
        for_purpose=args.get("for") if isinstance(args.get("for"), str) else None,  # type: ignore[arg-type]
    )
    for item in args.get("import") or []:  # type: ignore[attr-defined]
        if isinstance(item, str):
            feature.imports[item] = item
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            alias = item.get("as") or item["name"]
            feature.imports[item["name"]] = alias
    return feature


def directive_args(node: DirectiveNode) -> dict[str, object]:
    out: dict[str, object] = {}
    for arg in node.arguments or ():
        out[arg.name.value] = value_from_ast_untyped(arg.value)
    return out


def collect_links(document: DocumentNode) -> list[LinkedFeature]:
    """All features linked from the schema definition/extensions via @link or @core."""
    features: list[LinkedFeature] = []
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or ():
            # @link(url:) or a renamed link directive; legacy @core(feature:)
            args = directive_args(directive)
            feature = None
            if "url" in args:
                feature = _feature_from_args(args, "url")
            elif "feature" in args:
                feature = _feature_from_args(args, "feature")
            if feature is not None:
                features.append(feature)
    return features


def find_feature(features: list[LinkedFeature], spec: str) -> LinkedFeature | None:
    for feature in features:
        if feature.name == spec:
            return feature
    return None
