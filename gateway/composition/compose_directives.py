"""`@composeDirective`: custom type-system directives a subgraph asks to keep in the supergraph.

As in @apollo/composition, a composed directive must be defined in the subgraph and belong to a
feature it `@link`s (not a federation spec). The supergraph links the latest version of each such
feature that a composing subgraph links, importing the composed directives, carries the definition
from a subgraph at that version, and keeps the applications from the composing subgraphs: all the
distinct ones of a repeatable directive, else the one most subgraphs agree on (the first on a tie).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from graphql import print_ast
from graphql.language import DirectiveDefinitionNode, DirectiveNode

from .errors import CompositionIssue
from .links import LinkInfo
from .model import Decorations, Subgraph
from .supergraph_model import ComposedDirective, ComposedFeature, Supergraph

CODE = "DIRECTIVE_COMPOSITION_ERROR"
_APOLLO_SPECS = "https://specs.apollo.dev/"
# Federation directives composed anyway: asking for them is harmless (Apollo only hints).
_COMPOSED_BY_DEFAULT = frozenset({"tag", "inaccessible", "authenticated", "requiresScopes", "policy", "context"})


@dataclass(frozen=True)
class _Request:
    subgraph: Subgraph
    name: str  # local name, without "@"
    name_in_feature: str
    feature: LinkInfo


def collect_composed_directives(
    subgraphs: Sequence[Subgraph],
) -> tuple[list[ComposedFeature], list[CompositionIssue]]:
    issues: list[CompositionIssue] = []
    requests = [r for sub in subgraphs for r in _requests(sub, issues)]
    rejected = _check_consistency(requests, issues)
    features: dict[str, ComposedFeature] = {}
    for identity in _identities(subgraphs):
        composing = [r for r in requests if r.feature.identity == identity and r.name not in rejected]
        if not composing:
            continue
        majors = {r.feature.version[0] for r in composing}
        if len(majors) > 1:
            issues.append(
                _issue(
                    f'Core feature "{identity}" requested to be merged has major version mismatch across subgraphs',
                    [r.subgraph.name for r in composing],
                )
            )
            continue
        latest = max(composing, key=lambda r: r.feature.version).feature
        composed = ComposedFeature(latest)
        for request in dict.fromkeys((r.name, r.name_in_feature) for r in composing):
            definition = _definition(subgraphs, latest, request[1])
            if definition is None:
                issues.append(
                    _issue(
                        f'Core feature "{latest.url}" does not have a directive definition for "@{request[0]}"',
                        [r.subgraph.name for r in composing],
                    )
                )
                continue
            composed.directives.append(ComposedDirective(request[0], request[1], latest, definition))
        if composed.directives:
            features[identity] = composed
    return list(features.values()), issues


def _issue(message: str, subgraphs: list[str]) -> CompositionIssue:
    return CompositionIssue(CODE, message, list(dict.fromkeys(subgraphs)))


def _requests(sub: Subgraph, issues: list[CompositionIssue]) -> Iterator[_Request]:
    for raw in sub.compose_directive_names:
        if not raw:
            issues.append(
                _issue(
                    f'Argument to @composeDirective in subgraph "{sub.name}" cannot be NULL or an empty String',
                    [sub.name],
                )
            )
            continue
        if not raw.startswith("@"):
            issues.append(
                _issue(
                    f'Argument to @composeDirective "{raw}" in subgraph "{sub.name}" must have a leading "@"',
                    [sub.name],
                )
            )
            continue
        name = raw[1:]
        canonical = sub.names.canonical(name)
        if canonical is not None:  # a federation directive (one of the tag / inaccessible specs is not harmless)
            if canonical not in _COMPOSED_BY_DEFAULT or name not in sub.names.federation_locals:
                issues.append(
                    _issue(
                        f'Composing federation directive "{raw}" in subgraph "{sub.name}" is not supported', [sub.name]
                    )
                )
            continue
        if name not in sub.directive_definitions:
            issues.append(
                _issue(
                    f'Could not find matching directive definition for argument to @composeDirective "{raw}" in '
                    f'subgraph "{sub.name}".',
                    [sub.name],
                )
            )
            continue
        feature = next((f for f in sub.names.features if f.name_in_feature(name) is not None), None)
        if feature is None:
            issues.append(
                _issue(
                    f'Directive "{raw}" in subgraph "{sub.name}" cannot be composed because it is not a member of a '
                    "core feature",
                    [sub.name],
                )
            )
            continue
        if name not in feature.imports.values() and name != feature.prefix:
            # named `prefix__directive`: Apollo looks its definition up under another name and fails
            issues.append(
                _issue(
                    f'Core feature "{feature.url}" in subgraph "{sub.name}" does not have a directive definition '
                    f'for "{raw}"',
                    [sub.name],
                )
            )
            continue
        spec_name = feature.name_in_feature(name) or name
        if feature.url.startswith(_APOLLO_SPECS):
            if feature.name not in _COMPOSED_BY_DEFAULT:
                issues.append(
                    _issue(
                        f'Composing federation directive "{raw}" in subgraph "{sub.name}" is not supported', [sub.name]
                    )
                )
            continue
        yield _Request(sub, name, spec_name, feature)


def _check_consistency(requests: list[_Request], issues: list[CompositionIssue]) -> set[str]:
    """Names composed inconsistently across subgraphs (reported, and not composed)."""
    rejected: set[str] = set()
    by_name: dict[str, list[_Request]] = {}
    by_spec_name: dict[tuple[str, str], list[_Request]] = {}
    for r in requests:
        by_name.setdefault(r.name, []).append(r)
        by_spec_name.setdefault((r.feature.identity, r.name_in_feature), []).append(r)
    for name, items in by_name.items():
        subs = [r.subgraph.name for r in items]
        if len({r.name_in_feature for r in items}) > 1:
            rejected.add(name)
            issues.append(
                _issue(f'Composed directive "@{name}" does not refer to the same directive in every subgraph', subs)
            )
        if len({r.feature.identity for r in items}) > 1:
            rejected.add(name)
            issues.append(
                _issue(f'Composed directive "@{name}" is not linked by the same core feature in every subgraph', subs)
            )
    for items in by_spec_name.values():
        if len({r.name for r in items}) > 1:
            rejected.update(r.name for r in items)
            issues.append(
                _issue(
                    "Composed directive is not named consistently in all subgraphs", [r.subgraph.name for r in items]
                )
            )
    return rejected


def _identities(subgraphs: Sequence[Subgraph]) -> list[str]:
    """Every linked feature, in the order the subgraphs link them."""
    return list(dict.fromkeys(f.identity for sub in subgraphs for f in sub.names.features))


def _definition(
    subgraphs: Sequence[Subgraph], latest: LinkInfo, name_in_feature: str
) -> DirectiveDefinitionNode | None:
    """The definition from a subgraph linking exactly that version (the last such subgraph, as Apollo)."""
    for sub in reversed(subgraphs):
        link = next((f for f in sub.names.features if f.identity == latest.identity), None)
        if link is None or link.version != latest.version:
            continue
        local = next((n for n in sub.directive_definitions if link.name_in_feature(n) == name_in_feature), None)
        if local is not None:
            return sub.directive_definitions[local]
    return None


def apply_composed_directives(supergraph: Supergraph, features: list[ComposedFeature]) -> None:
    """Keep the supergraph's composed applications, merged; drop any other custom application."""
    supergraph.composed_features = features
    composed = {d.name: d for f in features for d in f.directives}
    for deco in _all_decorations(supergraph):
        if deco.custom:
            deco.custom = _merge_applications(deco.custom, composed)


def _merge_applications(
    applications: list[DirectiveNode], composed: dict[str, ComposedDirective]
) -> list[DirectiveNode]:
    out: list[DirectiveNode] = []
    for name in dict.fromkeys(a.name.value for a in applications):
        directive = composed.get(name)
        if directive is None:
            continue
        mine = [a for a in applications if a.name.value == name]
        by_text = {_printed(a): a for a in reversed(mine)}  # first application of each distinct text
        if directive.definition.repeatable:
            out.extend(by_text[text] for text in dict.fromkeys(_printed(a) for a in mine))
        else:
            counts = Counter(_printed(a) for a in mine)
            best = max(counts.values())
            out.append(by_text[next(text for text in counts if counts[text] == best)])
    return out


def _printed(directive: DirectiveNode) -> str:
    return print_ast(
        directive.__class__(
            name=directive.name, arguments=tuple(sorted(directive.arguments or (), key=lambda a: a.name.value))
        )
    )


def _all_decorations(supergraph: Supergraph) -> Iterator[Decorations]:
    for stype in supergraph.types.values():
        yield stype.deco
        for f in stype.fields.values():
            yield f.deco
            yield from (a.deco for a in f.args.values())
        yield from (i.deco for i in stype.input_fields.values())
        yield from (v.deco for v in stype.values.values())
