"""@context / @fromContext (join v0.5 `contextArguments`): a field's argument takes its value from
the nearest enclosing object that sets the context, selected by the gateway and passed to the
subgraph as the argument of an entity fetch, per entity (entities with different values are
fetched separately; Apollo Router aliases them in one request instead).

Composed by ours and by the reference composer (the supergraphs are the same). The plan shape
is @apollo/query-planner's (checked against it: the value selected on the ancestor in the
parent fetch, the field fetched through `_entities` with `$contextualArgument_*` variables);
@apollo/gateway refuses to load supergraphs linking context/v0.1 (`for: SECURITY`), so the module
is skipped under CONFORMANCE_GATEWAY=apollo.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from gateway.runtime import Gateway
from tests.support.reference import reference_query_plan
from tests.support.reference_tools import query_planner_unavailable

from .conftest import scenario_gateway
from .harness import GatewayClient, RequestLog, Scenario, Subgraph, reference_composer_available
from .harness.gateway import compose_reference

pytestmark = pytest.mark.skipif(
    os.environ.get("CONFORMANCE_GATEWAY") == "apollo",
    reason="@apollo/gateway refuses supergraphs linking context/v0.1 (a for: SECURITY feature it does not "
    "support); Apollo Router executes @fromContext",
)


LINK = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.8",
  import: ["@key", "@external", "@context", "@fromContext"])
"""

STORES = [
    {"id": "s1", "name": "Paris", "currency": "EUR"},
    {"id": "s2", "name": "Boston", "currency": "USD"},
    {"id": "s3", "name": "Lyon", "currency": "EUR"},
]
SECTIONS = {
    "s1": [{"title": "Living", "products": ["1", "2"]}, {"title": "Light", "products": ["2"]}],
    "s2": [{"title": "All", "products": ["1"]}],
    "s3": [{"title": "Small", "products": ["2"]}],
}
PRODUCTS = {"1": {"upc": "1", "name": "Table", "amount": 100}, "2": {"upc": "2", "name": "Lamp", "amount": 20}}


def stores() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  stores: [Store!]!
}

type Store @key(fields: "id") {
  id: ID!
  name: String!
  currency: String!
}
"""
    )
    return Subgraph(
        "stores",
        sdl,
        resolvers={"Query.stores": lambda _p, _i: STORES},
        entities={"Store": lambda rep: next((s for s in STORES if s["id"] == rep["id"]), None)},
    )


def catalog() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  localStores: [Store!]!
}

type Store @key(fields: "id") @context(name: "store") {
  id: ID!
  currency: String! @external
  sections: [Section!]!
  featured: Product
  partner: Store
}

type Section {
  title: String!
  products: [Product!]!
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String!
  price(currency: String @fromContext(field: "$store { currency }"), discount: Int = 0): String!
}
"""
    )

    def price(parent: dict[str, Any], _info: Any, currency: str | None = None, discount: int = 0) -> str:
        return f"{parent['amount'] - discount} {currency}"

    def store(rep: dict[str, Any]) -> dict[str, Any]:
        sections = [
            {"title": s["title"], "products": [PRODUCTS[u] for u in s["products"]]} for s in SECTIONS[rep["id"]]
        ]
        return {"id": rep["id"], "sections": sections, "featured": PRODUCTS["1"]}

    def partner(parent: dict[str, Any], _info: Any) -> dict[str, Any]:
        return store({"id": {"s1": "s2", "s2": "s3", "s3": "s1"}[parent["id"]]})

    return Subgraph(
        "catalog",
        sdl,
        resolvers={
            "Product.price": price,
            "Store.partner": partner,
            "Query.localStores": lambda _p, _i: [store({"id": s["id"]}) for s in STORES],
        },
        entities={"Store": store, "Product": lambda rep: PRODUCTS.get(rep["upc"])},
    )


gw = scenario_gateway("context", lambda: [stores(), catalog()])


def contextual_calls(gw: GatewayClient) -> list[Any]:
    return [r for r in gw.log.calls("catalog") if "contextualArgument" in r.query]


def test_the_argument_comes_from_the_nearest_ancestor_setting_the_context(gw: GatewayClient) -> None:
    result = gw.query("{ stores { name sections { title products { name price } } } }")
    assert result == {
        "data": {
            "stores": [
                {
                    "name": "Paris",
                    "sections": [
                        {
                            "title": "Living",
                            "products": [{"name": "Table", "price": "100 EUR"}, {"name": "Lamp", "price": "20 EUR"}],
                        },
                        {"title": "Light", "products": [{"name": "Lamp", "price": "20 EUR"}]},
                    ],
                },
                {"name": "Boston", "sections": [{"title": "All", "products": [{"name": "Table", "price": "100 USD"}]}]},
                {"name": "Lyon", "sections": [{"title": "Small", "products": [{"name": "Lamp", "price": "20 EUR"}]}]},
            ]
        }
    }


def test_the_field_stays_in_the_entity_fetch_of_its_context(gw: GatewayClient) -> None:
    # as @apollo/query-planner: currency comes with the stores fetch, and price is resolved in the
    # Store entity fetch of catalog, one fetch per distinct currency (Paris and Lyon share one)
    gw.query("{ stores { sections { products { price } } } }")
    by_value = {}
    for call in contextual_calls(gw):
        (name,) = [k for k in call.variables if k.startswith("contextualArgument")]
        by_value[call.variables[name]] = sorted(r["id"] for r in call.representations)
        assert all(set(r) == {"__typename", "id"} for r in call.representations)
    assert by_value == {"EUR": ["s1", "s3"], "USD": ["s2"]}
    (stores_call,) = gw.log.calls("stores")
    assert "currency" in stores_call.query


def test_a_context_set_in_the_same_fetch_gets_an_entity_fetch_of_its_own(gw: GatewayClient) -> None:
    # localStores comes from catalog, whose Store.currency is @external: currency is fetched from
    # the stores subgraph, then price through a Product entity fetch per distinct currency
    result = gw.query("{ localStores { id featured { price } } }")
    assert result == {
        "data": {
            "localStores": [
                {"id": "s1", "featured": {"price": "100 EUR"}},
                {"id": "s2", "featured": {"price": "100 USD"}},
                {"id": "s3", "featured": {"price": "100 EUR"}},
            ]
        }
    }
    by_value = {}
    for call in contextual_calls(gw):
        (name,) = [k for k in call.variables if k.startswith("contextualArgument")]
        by_value[call.variables[name]] = [r["upc"] for r in call.representations]
    assert by_value == {"EUR": ["1"], "USD": ["1"]}  # the featured Table of Paris and Lyon: one representation
    assert any("currency" in r.query for r in gw.log.entity_calls("stores"))


def test_the_nearest_of_nested_contexts_wins(gw: GatewayClient) -> None:
    result = gw.query("{ stores { id featured { price } partner { id featured { price } } } }")
    assert result == {
        "data": {
            "stores": [
                {
                    "id": "s1",
                    "featured": {"price": "100 EUR"},
                    "partner": {"id": "s2", "featured": {"price": "100 USD"}},
                },
                {
                    "id": "s2",
                    "featured": {"price": "100 USD"},
                    "partner": {"id": "s3", "featured": {"price": "100 EUR"}},
                },
                {
                    "id": "s3",
                    "featured": {"price": "100 EUR"},
                    "partner": {"id": "s1", "featured": {"price": "100 EUR"}},
                },
            ]
        }
    }


def test_client_arguments_are_kept_next_to_the_contextual_one(gw: GatewayClient) -> None:
    result = gw.query("{ stores { featured { cheap: price(discount: 10) full: price } } }")
    assert result == {
        "data": {
            "stores": [
                {"featured": {"cheap": "90 EUR", "full": "100 EUR"}},
                {"featured": {"cheap": "90 USD", "full": "100 USD"}},
                {"featured": {"cheap": "90 EUR", "full": "100 EUR"}},
            ]
        }
    }
    for call in contextual_calls(gw):
        assert "price(discount: 10, currency: $contextualArgument_" in call.query


def test_the_context_field_is_fetched_where_it_lives(gw: GatewayClient) -> None:
    # Store.currency is @external in catalog: the gateway gets it from the stores subgraph
    gw.query("{ stores { featured { price } } }")
    assert any("currency" in r.query for r in gw.log.calls("stores"))
    assert all("currency" not in r.query.replace("price(currency:", "") for r in gw.log.calls("catalog"))


def test_the_plan_shows_the_contextual_variable(gw: GatewayClient) -> None:
    result = gw.query("{ stores { featured { price } } }", headers={"X-Query-Plan": "true"})
    text = result["extensions"]["queryPlan"]["text"]
    assert "price(currency: $contextualArgument_" in text


PLANNED = (
    "{ stores { featured { price } partner { id featured { price } } } }",
    "{ stores { sections { products { price } } } }",
    "{ stores { featured { cheap: price(discount: 10) full: price } } }",
    "{ localStores { id featured { price } } }",
)


@pytest.mark.skipif(
    bool(reference_composer_available() or query_planner_unavailable()),
    reason=f"reference tools: {reference_composer_available() or query_planner_unavailable()}",
)
@pytest.mark.parametrize("query", PLANNED)
def test_the_plans_are_the_reference_query_planner_s(query: str) -> None:
    subgraphs = {s.name: s for s in (stores(), catalog())}
    scenario = Scenario("context-plans", subgraphs, {n: f"http://{n}.local/graphql" for n in subgraphs}, RequestLog())
    supergraph = compose_reference(scenario)
    gateway = Gateway(supergraph)
    ours = gateway.plan(gateway.prepare(query, None)).to_json()["node"]
    assert plan_outline(ours) == plan_outline(reference_query_plan(supergraph, query))


def plan_outline(node: dict[str, Any]) -> Any:
    """What both planners must agree on: the fetches, their order and nesting, their subgraphs and
    paths, and which fields take contextual variables (how many distinct ones)."""
    kind = node["kind"]
    if kind == "Sequence":
        return ["Sequence", [plan_outline(n) for n in node["nodes"]]]
    if kind == "Parallel":
        return ["Parallel", sorted((plan_outline(n) for n in node["nodes"]), key=repr)]
    if kind == "Flatten":
        return ["Flatten", node["path"], plan_outline(node["node"])]
    operation = node["operation"]
    body = operation[operation.index("{") :]  # not the variable definitions
    contextual = sorted(set(re.findall(r"(\w+)\([^)]*\$contextualArgument", body)))
    variables = len(set(re.findall(r"\$(contextualArgument\w+)", operation)))
    return ["Fetch", node["serviceName"], contextual, variables]
