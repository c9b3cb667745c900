"""Planner output for representative operations (subgraph operations and plan structure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.planning import FlattenNode, ParallelNode, PlanCache, QueryPlan, SequenceNode, prepare_operation
from gateway.runtime import Gateway
from gateway.supergraph import build_api_schema, parse_supergraph

from . import media, shop

FEATURES = (Path(__file__).parent / "fixtures" / "features.graphql").read_text()


def plan_of(sdl: str, query: str, labels: frozenset[str] = frozenset(), name: str | None = None) -> QueryPlan:
    prepared = prepare_operation(query, name, build_api_schema(sdl), parse_supergraph(sdl))
    return prepared.plan_for(labels)


def ops(plan: QueryPlan) -> list[tuple[str, str]]:
    return [(f.service, f.operation) for f in plan.fetches()]


ENTITIES = "query($representations: [_Any!]!) { _entities(representations: $representations) "


def test_single_root_fetch() -> None:
    plan = plan_of(shop.SUPERGRAPH, "{ topProducts { upc name } }")
    assert ops(plan) == [("products", "query {topProducts {upc name}}")]
    assert plan.to_text() == (
        'QueryPlan {\n  Fetch(service: "products") {\n    {\n      topProducts {\n        upc\n'
        "        name\n      }\n    }\n  },\n}"
    )


def test_root_fields_in_several_subgraphs_run_in_parallel() -> None:
    plan = plan_of(shop.SUPERGRAPH, "{ me { id } topProducts { upc } }")
    assert isinstance(plan.node, ParallelNode)
    assert sorted(ops(plan)) == [("accounts", "query {me {id}}"), ("products", "query {topProducts {upc}}")]


def test_entity_fetch_with_flatten_path_and_named_operation() -> None:
    plan = plan_of(shop.SUPERGRAPH, "query Top { topProducts { name reviews { body } } }")
    assert isinstance(plan.node, SequenceNode)
    flatten = plan.node.nodes[1]
    assert isinstance(flatten, FlattenNode)
    assert flatten.path == ("topProducts", "@")
    assert ops(plan) == [
        ("products", "query Top__products__0 {topProducts {name __typename upc}}"),
        (
            "reviews",
            "query Top__reviews__1($representations: [_Any!]!) { _entities(representations: $representations) "
            "{... on Product {reviews {body}}} }",
        ),
    ]
    assert plan.to_json()["node"]["nodes"][1] == {
        "kind": "Flatten",
        "path": ["topProducts", "@"],
        "node": {
            "kind": "Fetch",
            "serviceName": "reviews",
            "operationKind": "query",
            "variableUsages": [],
            "operation": ops(plan)[1][1],
            "requires": "{\n  ... on Product {\n    __typename\n    upc\n  }\n}",
        },
    }


def test_requires_fields_are_fetched_first_and_provides_saves_a_hop() -> None:
    plan = plan_of(shop.SUPERGRAPH, "{ topProducts { shippingEstimate } me { reviews { author { username } } } }")
    assert ("products", "query {topProducts {__typename upc price weight}}") in ops(plan)
    assert ("inventory", ENTITIES + "{... on Product {shippingEstimate}} }") in ops(plan)
    assert ("reviews", ENTITIES + "{... on User {reviews {author {username}}}} }") in ops(plan)
    assert len(ops(plan)) == 4  # no accounts hop for the provided username


def test_chained_requires_and_nested_compound_key() -> None:
    plan = plan_of(FEATURES, "{ orders { id insurance } }")
    assert ops(plan) == [
        ("a", "query {orders {id __typename customer {id} weight}}"),
        ("b", ENTITIES + "{... on Order {shipping}} }"),
        ("c", ENTITIES + "{... on Order {insurance}} }"),
    ]
    fetches = plan.fetches()
    b_rep = fetches[1].requires_text
    assert b_rep is not None and "customer {" in b_rep and "weight" in b_rep
    assert fetches[2].requires_text is not None and "shipping" in fetches[2].requires_text


def test_requires_with_nested_selection_and_field_arguments() -> None:
    plan = plan_of(FEATURES, "{ orders { label(size: 2) } }")
    assert ops(plan) == [
        ("a", "query {orders {__typename id customer {name}}}"),
        ("c", ENTITIES + "{... on Order {label(size: 2)}} }"),
    ]


def test_provides_on_union_and_interface() -> None:
    plan = plan_of(FEATURES, "{ feed { ... on Article { title } } posts { ... on Article { title } } }")
    assert ops(plan) == [
        ("b", "query {feed {__typename ... on Article {title}} posts {__typename ... on Article {__typename id}}}"),
        ("c", ENTITIES + "{... on Article {title}} }"),
    ]
    # Dog is Animal's only implementation, in b as in the supergraph: no type explosion needed
    plan = plan_of(FEATURES, "{ animals { name } }")
    assert ops(plan) == [("b", "query {animals {__typename name}}")]


def test_provided_value_type_subtree_falls_back_to_the_owner() -> None:
    assert ops(plan_of(FEATURES, "{ notes { owner { address { city } } } }")) == [
        ("b", "query {notes {owner {address {city}}}}")
    ]
    # street is not provided and Address has no key: fetch the whole address from the owner of Customer
    assert ops(plan_of(FEATURES, "{ notes { owner { address { city street } } } }")) == [
        ("b", "query {notes {owner {__typename id}}}"),
        ("a", ENTITIES + "{... on Customer {address {city street}}} }"),
    ]


def test_progressive_override_labels() -> None:
    query = "{ widget { price color size } }"
    assert ops(plan_of(FEATURES, query, frozenset({"percent(100)"}))) == [
        ("a", "query {widget {price __typename id}}"),
        ("b", ENTITIES + "{... on Widget {color size}} }"),
    ]
    assert ops(plan_of(FEATURES, query, frozenset({"percent(0)", "percent(100)"}))) == [
        ("a", "query {widget {__typename id}}"),
        ("b", ENTITIES + "{... on Widget {price color size}} }"),
    ]
    gateway = Gateway(FEATURES)
    assert all(gateway.active_labels() == {"percent(100)"} for _ in range(20))


def test_mutations_are_sequential_stages() -> None:
    plan = plan_of(FEATURES, "mutation { a1 b1 a2 }")
    assert isinstance(plan.node, SequenceNode)
    assert ops(plan) == [("a", "mutation {a1}"), ("b", "mutation {b1}"), ("a", "mutation {a2}")]


def test_input_rewrites_for_fields_a_subgraph_lacks() -> None:
    plan = plan_of(FEATURES, "query ($f: ItemFilter) { items(filter: $f) { name } }")
    (fetch,) = plan.fetches()
    assert fetch.operation == "query($f: ItemFilter) {items(filter: $f) {name}}"
    assert fetch.input_rewrites == {"f": "ItemFilter"}


def test_interface_object_plans() -> None:
    plan = plan_of(media.SUPERGRAPH, "{ topRated { rating title } }")
    assert ops(plan) == [
        ("ratings", "query {topRated {rating __typename id}}"),
        ("catalog", ENTITIES + "{... on Media {__typename title}} }"),
    ]
    plan = plan_of(media.SUPERGRAPH, "{ media { rating } }")
    assert ops(plan) == [
        ("catalog", "query {media {__typename id}}"),
        ("ratings", ENTITIES + "{... on Media {rating}} }"),
    ]
    reps = plan.fetches()[1].entity_reps
    assert reps is not None and {k: v.typename for k, v in reps.items()} == {"Book": "Media", "Movie": "Media"}


def test_requires_on_interface_object_field() -> None:
    sdl = media.SUPERGRAPH.replace(
        "  title: String @join__field(graph: CATALOG)\n  rating: Int @join__field(graph: RATINGS)\n",
        "  title: String @join__field(graph: CATALOG) @join__field(graph: RATINGS, external: true)\n"
        "  rating: Int @join__field(graph: RATINGS)\n"
        '  score: Int @join__field(graph: RATINGS, requires: "title")\n',
    ).replace("  rating: Int @join__field\n", "  rating: Int @join__field\n  score: Int @join__field\n")
    assert ops(plan_of(sdl, "{ topRated { rating ... on Book { score } } }")) == [
        ("ratings", "query {topRated {rating __typename id}}"),
        ("catalog", ENTITIES + "{... on Media {__typename ... on Book {__typename id title}}} }"),
        ("ratings", ENTITIES + "{... on Media {score}} }"),
    ]
    plan = plan_of(sdl, "{ media { score } }")
    assert ops(plan)[1] == ("ratings", ENTITIES + "{... on Media {score}} }")
    requires = plan.fetches()[1].requires_text
    assert requires is not None and "title" in requires


def test_same_field_with_different_arguments_and_internal_key_alias() -> None:
    plan = plan_of(shop.SUPERGRAPH, '{ a: product(upc: "1") { upc: name reviews { body } } }')
    # the client aliased `name` as `upc`, so the key field the planner adds must not collide
    assert ops(plan)[0] == ("products", 'query {a: product(upc: "1") {upc: name __typename gw_upc_1: upc}}')
    keys = plan.fetches()[1].entity_reps["Product"].keys  # type: ignore[index]
    assert keys.fields == [("gw_upc_1", "upc", None)]


def test_skip_include_are_forwarded() -> None:
    plan = plan_of(
        shop.SUPERGRAPH, "query ($s: Boolean!) { me { name @skip(if: $s) reviews @include(if: $s) { body } } }"
    )
    assert ops(plan) == [
        ("accounts", "query($s: Boolean!) {me {name @skip(if: $s) __typename id}}"),
        (
            "reviews",
            "query($representations: [_Any!]!, $s: Boolean!) { _entities(representations: $representations) "
            "{... on User {reviews @include(if: $s) {body}}} }",
        ),
    ]


def test_plan_cache_is_lru() -> None:
    cache = PlanCache(2)
    schema, sg = build_api_schema(shop.SUPERGRAPH), parse_supergraph(shop.SUPERGRAPH)
    for q in ("{ me { id } }", "{ me { name } }"):
        cache.put((q, None), prepare_operation(q, None, schema, sg))
    assert cache.get(("{ me { id } }", None)) is not None
    cache.put(("{ me { username } }", None), prepare_operation("{ me { username } }", None, schema, sg))
    assert cache.get(("{ me { name } }", None)) is None
    assert len(cache) == 2


def test_gateway_caches_prepared_operations() -> None:
    gateway = Gateway(shop.SUPERGRAPH)
    first = gateway.prepare("{ me { id } }", None)
    assert gateway.prepare("{ me { id } }", None) is first


@pytest.mark.parametrize("query", ["{ me { id } }", "{ __typename }"])
def test_cli_plan_prints(query: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from gateway.__main__ import main

    path = tmp_path / "sg.graphql"
    path.write_text(shop.SUPERGRAPH)
    assert main(["plan", "--supergraph", str(path), query]) == 0
    assert capsys.readouterr().out.startswith("QueryPlan {")
