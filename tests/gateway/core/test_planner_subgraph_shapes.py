"""Planner output where a subgraph's view differs from the supergraph's: per-subgraph field types,
fields conflicting across sibling fragments, @requires with arguments (issue 13 items 3, 4, 8).
End-to-end answers are in the conformance suite; these pin the subgraph operations."""

from __future__ import annotations

from pathlib import Path

from gateway.composition import SubgraphSource, compose
from gateway.planning import QueryPlan, prepare_operation
from gateway.planning.nodes import Unalias
from gateway.supergraph import build_api_schema, parse_supergraph
from tests.gateway.conformance import test_fragment_field_conflicts as conflicts
from tests.gateway.conformance import test_join_field_types as field_types

REQUIRES_ARGS = (Path(__file__).parent / "fixtures" / "requires_args.graphql").read_text()
ENTITIES = "query($representations: [_Any!]!) { _entities(representations: $representations) "


def supergraph_of(*subgraphs: object) -> str:
    return str(
        compose([SubgraphSource(name=s.name, url=f"http://127.0.0.1:1/{s.name}", sdl=s.sdl) for s in subgraphs])  # type: ignore[attr-defined]
    )


def plan_of(sdl: str, query: str) -> QueryPlan:
    return prepare_operation(query, None, build_api_schema(sdl), parse_supergraph(sdl)).plan_for(frozenset())


def ops(plan: QueryPlan) -> list[tuple[str, str]]:
    return [(f.service, f.operation) for f in plan.fetches()]


def test_fields_are_planned_against_their_subgraph_type() -> None:
    sdl = supergraph_of(field_types.library(), field_types.music())
    plan = plan_of(sdl, "{ viewer { current { ... on Book { title } ... on Song { artist } } } }")
    assert ops(plan) == [("library", "query {viewer {current {__typename title}}}")]


def test_conflicting_sibling_fields_are_aliased() -> None:
    sdl = supergraph_of(conflicts.accounts(), conflicts.profiles(), conflicts.directory())
    plan = plan_of(sdl, "{ people { ... on User { name } ... on Admin { name } } }")
    ((service, operation),) = ops(plan)
    assert service == "accounts"
    assert "name__gw_alias_0: name" in operation
    (fetch,) = plan.fetches()
    assert fetch.unalias == Unalias(children={"people": Unalias(renames=[("name__gw_alias_0", "name")])})
    assert fetch.to_json()["outputRewrites"] == [{"path": ["people", "name__gw_alias_0"], "renameKeyTo": "name"}]


def test_same_shape_is_not_aliased() -> None:
    sdl = supergraph_of(conflicts.accounts(), conflicts.profiles(), conflicts.directory())
    plan = plan_of(sdl, "{ people { ... on User { id contact { email } } ... on Admin { id } } }")
    (fetch,) = plan.fetches()
    assert "gw_alias" not in fetch.operation
    assert fetch.unalias is None


def test_requires_with_different_arguments_get_their_own_fetches() -> None:
    plan = plan_of(REQUIRES_ARGS, "{ products { usdTax eurTax usdShipping } }")
    assert ops(plan) == [
        (
            "products",
            'query {products {__typename upc price(currency: "USD") gw_price_1: price(currency: "EUR")}}',
        ),
        ("taxes", ENTITIES + "{... on Product {usdTax usdShipping}} }"),
        ("taxes", ENTITIES + "{... on Product {eurTax}} }"),
    ]
