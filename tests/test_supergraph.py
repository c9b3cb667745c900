"""The shop's own supergraph: the real subgraph schemas compose with our composition."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from graphql import (
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
    get_named_type,
)

from gateway.composition import SubgraphSource, compose
from tests.gateway.composition.join_structure import differences, join_structure
from tests.support.reference_composer import compose_with_reference
from tests.support.reference_tools import composer_unavailable

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["products", "orders", "payments", "notifications"]


def subgraph_sdl(name: str) -> str:
    module = importlib.import_module(f"subgraphs.{name}.schema")
    schema = module.build_schema()
    result = schema.execute_sync("{ _service { sdl } }")
    assert result.errors is None, result.errors
    return str(result.data["_service"]["sdl"])


def shop_supergraph() -> str:
    config = yaml.safe_load((ROOT / "supergraph.yaml").read_text())
    return compose(
        [SubgraphSource(name, spec["routing_url"], subgraph_sdl(name)) for name, spec in config["subgraphs"].items()]
    )


def test_supergraph_yaml_lists_every_service() -> None:
    config = yaml.safe_load((ROOT / "supergraph.yaml").read_text())
    assert sorted(config["subgraphs"]) == sorted(SERVICES)


def test_the_shop_composes() -> None:
    supergraph = shop_supergraph()
    assert 'enum join__Graph' in supergraph
    for name in SERVICES:
        assert f'@join__graph(name: "{name}"' in supergraph


MONEY_NAMES = ("amount", "price", "total", "refund", "due", "captured", "refunded", "refundable")
NOT_MONEY = ("totalCount", "totalQuantity")


def test_every_amount_is_the_one_minor_units_scalar() -> None:
    """Money amounts beyond GraphQL Int (case 9 of the money issue): one scalar, shared by the subgraphs."""
    supergraph = shop_supergraph()
    assert ("scalar MinorUnits\n  @join__type(graph: ORDERS)\n  @join__type(graph: PAYMENTS)\n"
            "  @join__type(graph: PRODUCTS)\n") in supergraph
    schema = build_schema(supergraph)
    typed: dict[str, str] = {}
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for name, field in type_.fields.items():
                typed[f"{type_.name}.{name}"] = str(get_named_type(field.type))
                for arg_name, arg in getattr(field, "args", {}).items():
                    typed[f"{type_.name}.{name}({arg_name})"] = str(get_named_type(arg.type))
    money = {path: t for path, t in typed.items()
             if any(n in path.rsplit(".", 1)[1].lower() for n in MONEY_NAMES) and not path.endswith(NOT_MONEY)}
    assert money["Money.amount"] == "MinorUnits" and money["Mutation.refundPayment(amount)"] == "MinorUnits"
    assert [path for path, t in money.items() if t in ("Int", "Float")] == []
    assert {path for path, t in money.items() if t == "MinorUnits"} == {
        "Money.amount", "MoneyInput.amount", "Mutation.refundPayment(amount)", "ProductFilter.minPrice",
        "ProductFilter.maxPrice"}


def test_order_page_example_defers_the_notifications() -> None:
    """The explorer's order-page example is valid on the shop's supergraph, and its notifications are a
    deferred part: the primary part reads orders (and products) only."""
    from gateway.graphiql.examples import DEFAULT_EXAMPLES_DIR, parse_example
    from gateway.planning import QueryPlan, prepare_operation
    from gateway.supergraph import build_api_schema, parse_supergraph

    supergraph = shop_supergraph()
    example = parse_example((DEFAULT_EXAMPLES_DIR / "06_order_page.graphql").read_text(), "order page")
    prepared = prepare_operation(example.query, None, build_api_schema(supergraph), parse_supergraph(supergraph))
    plan = prepared.plan_for(frozenset(), prepared.active_defers({"orderId": "o1"}))
    (deferred,) = plan.deferred
    assert deferred.label == "notifications" and deferred.path == ("order",)
    assert deferred.node is not None and deferred.node.to_json()["node"]["serviceName"] == "notifications"
    primary = QueryPlan(plan.node).fetches()
    assert primary and "notifications" not in {fetch.service for fetch in primary}


@pytest.mark.skipif(composer_unavailable() is not None, reason=f"reference composer: {composer_unavailable()}")
def test_the_shop_composes_like_the_reference() -> None:
    """@apollo/composition gives the shop's subgraphs the same join directives as ours."""
    config = yaml.safe_load((ROOT / "supergraph.yaml").read_text())
    subgraphs = [
        SubgraphSource(name, spec["routing_url"], subgraph_sdl(name)) for name, spec in config["subgraphs"].items()
    ]
    reference = compose_with_reference({"shop": subgraphs})["shop"]
    assert reference.supergraph is not None, reference.errors
    assert differences(join_structure(reference.supergraph), join_structure(compose(subgraphs))) == []
