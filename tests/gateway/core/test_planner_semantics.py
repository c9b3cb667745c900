"""Plan shapes for issue 13 (value types over subgraphs, @external, partial unions, non-resolvable
@interfaceObject): the subgraph operations the planner sends, on supergraphs our composer builds."""

from __future__ import annotations

import pytest

from gateway.composition import SubgraphSource, compose
from gateway.planning import FlattenNode, ParallelNode, QueryPlan, RequestError, SequenceNode, prepare_operation
from gateway.supergraph import build_api_schema, parse_supergraph

from . import media

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable", "@external", "@interfaceObject"])\n'
)

VALUES = {
    "a": LINK
    + """
type Query { featured: Banner @shareable product: Product }
type Banner @shareable { id: ID! headline: String! }
type Product @key(fields: "id") { id: ID! category: Category @shareable }
type Category @shareable { id: ID! label: Label }
type Label @shareable { text: String! }
""",
    "b": LINK
    + """
type Query { featured: Banner @shareable }
type Banner @shareable { id: ID! imageUrl: String! }
type Product @key(fields: "id") { id: ID! category: Category @shareable }
type Category @shareable { details: String! label: Label }
type Label @shareable { color: String! }
""",
}

EXTERNAL = {
    "library": LINK
    + """
type Query { media: [Media!]! @shareable }
interface Media { id: ID! title: String! }
type Book implements Media @key(fields: "id") { id: ID! @external title: String! @external pages: Int! }
""",
    "store": LINK
    + """
type Query { media: [Media!]! @shareable }
interface Media { id: ID! title: String! }
type Book implements Media @key(fields: "id") { id: ID! title: String! }
""",
}

UNIONS = {
    "books": LINK
    + """
type Query { search: [Result!]! @shareable }
union Result = Book | Movie
type Book @key(fields: "id") { id: ID! title: String }
type Movie @key(fields: "id") { id: ID! title: String! @shareable }
""",
    "films": LINK
    + """
type Query { search: [Result!]! @shareable }
union Result = Movie | Song
type Movie @key(fields: "id") { id: ID! title: String! @shareable director: String! }
type Song @key(fields: "id") { id: ID! length: Int }
""",
}


def supergraph_of(subgraphs: dict[str, str]) -> str:
    return str(compose([SubgraphSource(name=n, url=f"http://{n}/graphql", sdl=s) for n, s in subgraphs.items()]))


def plan_of(subgraphs: dict[str, str], query: str, sdl: str | None = None) -> QueryPlan:
    sdl = sdl or supergraph_of(subgraphs)
    return prepare_operation(query, None, build_api_schema(sdl), parse_supergraph(sdl)).plan_for(frozenset())


def ops(plan: QueryPlan) -> list[tuple[str, str]]:
    return sorted((f.service, f.operation) for f in plan.fetches())


def test_shareable_root_value_type_is_fetched_from_each_subgraph_in_parallel() -> None:
    plan = plan_of(VALUES, "{ featured { id headline imageUrl } }")
    assert isinstance(plan.node, ParallelNode)
    assert ops(plan) == [("a", "query {featured {id headline}}"), ("b", "query {featured {imageUrl}}")]


def test_value_fields_under_an_entity_re_enter_through_its_key() -> None:
    plan = plan_of(VALUES, "{ product { category { id details label { text color } } } }")
    assert isinstance(plan.node, SequenceNode)
    _root, hop = plan.node.nodes
    assert isinstance(hop, FlattenNode) and hop.path == ("product",)
    assert ops(plan) == [
        ("a", "query {product {category {id label {text}} __typename id}}"),
        (
            "b",
            "query($representations: [_Any!]!) { _entities(representations: $representations) "
            "{... on Product {category {details label {color}}}} }",
        ),
    ]


def test_external_fields_are_not_read_from_the_subgraph_marking_them() -> None:
    assert ops(plan_of(EXTERNAL, "{ media { id title } }")) == [("store", "query {media {__typename id title}}")]


def test_external_key_makes_the_other_half_a_second_root_fetch() -> None:
    plan = plan_of(EXTERNAL, "{ media { id ... on Book { pages } } }")
    assert isinstance(plan.node, ParallelNode)
    assert ops(plan) == [
        ("library", "query {media {__typename ... on Book {pages}}}"),
        ("store", "query {media {__typename id}}"),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ search { ... on Book { title } } }", [("books", "query {search {__typename}}")]),
        (
            "{ search { ... on Book { title } ... on Movie { director } ... on Song { length } } }",
            [("films", "query {search {__typename ... on Movie {director}}}")],
        ),
    ],
)
def test_union_under_a_shareable_field_selects_the_common_members_only(
    query: str, expected: list[tuple[str, str]]
) -> None:
    assert ops(plan_of(UNIONS, query)) == expected


@pytest.mark.parametrize("kind", ["mutation", "subscription"])
def test_mutation_and_subscription_roots_are_never_split(kind: str) -> None:
    subgraphs = {
        g: LINK
        + f"type Query {{ {g}: Int }} type Mutation {{ tag: Tag @shareable }} type Tag @shareable {{ {f}: Int }}"
        for g, f in (("a", "x"), ("b", "y"))
    }
    sdl = supergraph_of(subgraphs)
    if kind == "subscription":
        # composition (ours and @apollo/composition) rejects @shareable subscription fields: the same
        # supergraph with the root renamed, as another composer could hand it to the gateway
        sdl = sdl.replace("mutation: Mutation", "subscription: Subscription")
        sdl = sdl.replace("type Mutation", "type Subscription")
    with pytest.raises(RequestError) as info:
        plan_of(subgraphs, f"{kind} {{ tag {{ x y }} }}", sdl)
    assert info.value.errors[0]["extensions"]["code"] == "QUERY_PLANNING_FAILED"
    plan = plan_of(subgraphs, f"{kind} {{ tag {{ y }} }}", sdl)
    assert ops(plan) == [("b", f"{kind} {{tag {{y}}}}")]


NODES = {
    "a": LINK
    + """
type Query { nodes: [Node!]! }
interface Node { id: ID! }
type A implements Node @key(fields: "id") { id: ID! }
type B implements Node @key(fields: "id") { id: ID! }
""",
    "b": LINK
    + """
type Query { other: Node }
interface Node { id: ID! }
type C implements Node @key(fields: "id") { id: ID! }
""",
}


def test_abstract_position_keeps_its_type_condition_when_nothing_differs() -> None:
    assert ops(plan_of(EXTERNAL, "{ media { ... on Book { id } } }")) == [("store", "query {media {__typename id}}")]


def test_abstract_position_is_exploded_where_the_subgraph_knows_fewer_types() -> None:
    assert ops(plan_of(NODES, "{ nodes { id } }")) == [("a", "query {nodes {__typename ... on A {id} ... on B {id}}}")]


def test_abstract_position_is_exploded_where_the_types_select_differently() -> None:
    sdl = media.SUPERGRAPH
    plan = prepare_operation(
        "{ media { ... on Book { title } } }", None, build_api_schema(sdl), parse_supergraph(sdl)
    ).plan_for(frozenset())
    assert ops(plan) == [("catalog", "query {media {__typename ... on Book {title}}}")]
    assert ops(plan_of(EXTERNAL, "{ media { id ... on Book { pages } } }"))[0] == (
        "library",
        "query {media {__typename ... on Book {pages}}}",
    )
