"""The composition pipeline: parse, validate each subgraph, merge, check satisfiability, print."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import GraphQLError, build_ast_schema, parse, validate_schema

from .compose_directives import apply_composed_directives, collect_composed_directives
from .errors import CompositionError, CompositionIssue
from .inaccessible import check_inaccessible
from .merge import merge
from .printer import print_supergraph
from .satisfiability import check_satisfiability
from .source import SubgraphSource
from .subgraph_parser import parse_all
from .subgraph_validation import validate_subgraph
from .transitive_auth import check_transitive_auth


def compose(subgraphs: Sequence[SubgraphSource]) -> str:
    """Compose Federation 2 subgraphs into supergraph SDL; raises CompositionError listing every problem."""
    issues = _check_names(subgraphs)
    if issues:
        raise CompositionError(issues)
    # Subgraphs are merged in name order, as the reference composer does: it fixes the output order.
    ordered = sorted(subgraphs, key=lambda s: s.name)
    parsed, issues = parse_all([(s.name, s.url, s.sdl) for s in ordered])
    for sub in parsed:
        issues.extend(validate_subgraph(sub))
    if issues:
        raise CompositionError(issues)
    composed, issues = collect_composed_directives(parsed)
    if issues:
        raise CompositionError(issues)
    supergraph, issues = merge(parsed)
    if not issues:
        issues = check_transitive_auth(supergraph)
    if issues:
        raise CompositionError(issues)
    apply_composed_directives(supergraph, composed)
    issues = check_inaccessible(supergraph)
    if issues:
        raise CompositionError(issues)
    issues = check_satisfiability(parsed, supergraph)
    if issues:
        raise CompositionError(issues)
    sdl = print_supergraph(supergraph)
    _check_valid_graphql(sdl)
    return sdl


def _check_names(subgraphs: Sequence[SubgraphSource]) -> list[CompositionIssue]:
    if not subgraphs:
        return [CompositionIssue("NO_SUBGRAPHS", "at least one subgraph is needed to compose a supergraph")]
    issues: list[CompositionIssue] = []
    seen: set[str] = set()
    for source in subgraphs:
        if not source.name or source.name == "_":
            issues.append(CompositionIssue("INVALID_SUBGRAPH_NAME", f'invalid subgraph name "{source.name}"'))
        elif source.name in seen:
            issues.append(
                CompositionIssue("INVALID_SUBGRAPH_NAME", f'subgraph name "{source.name}" is used twice', [source.name])
            )
        seen.add(source.name)
    return issues


def _check_valid_graphql(sdl: str) -> None:
    """Last line of defence: the printed supergraph must be a valid GraphQL schema."""
    try:
        errors = list(validate_schema(build_ast_schema(parse(sdl, no_location=True))))
    except (GraphQLError, TypeError) as exc:
        errors = [exc]  # type: ignore[list-item]
    if errors:
        raise CompositionError(
            [CompositionIssue("INVALID_GRAPHQL", f"the merged supergraph is not a valid schema: {e}") for e in errors]
        )
