"""Value types (no key anywhere) whose fields are spread over subgraphs (issue 13, items 1 and 2).

A value type cannot be fetched by key, so what one subgraph lacks comes from another subgraph
re-entering at the nearest position that can be fetched again: a second root fetch of the shareable
root field (in parallel, merged by response key and list index), or an entity hop through the key of
the enclosing entity, selecting the path down to the missing fields. Both as @apollo/gateway plans
them (checked with CONFORMANCE_GATEWAY=apollo).
"""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'

CATALOG_PRODUCTS: dict[str, dict[str, Any]] = {
    "p1": {
        "__typename": "Product",
        "id": "p1",
        "name": "Table",
        "category": {"id": "c1", "label": {"text": "Furniture"}},
    },
    "p2": {
        "__typename": "Product",
        "id": "p2",
        "name": "Lamp",
        "category": {"id": "c2", "label": {"text": "Lighting"}},
    },
}
MARKETING_CATEGORIES: dict[str, dict[str, Any]] = {
    "p1": {"details": "Solid oak", "label": {"color": "brown"}},
    "p2": {"details": "Warm light", "label": {"color": "yellow"}},
}


def catalog() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  featured: Banner @shareable
  deals: [Deal!]! @shareable
  product(id: ID!): Product
  products: [Product!]!
}

type Banner @shareable {
  id: ID!
  headline: String!
}

type Deal @shareable {
  code: String!
  title: String!
}

type Product @key(fields: "id") {
  id: ID!
  name: String!
  category: Category @shareable
}

type Category @shareable {
  id: ID!
  label: Label
}

type Label @shareable {
  text: String!
}
"""
    )
    return Subgraph(
        "catalog",
        sdl,
        resolvers={
            "Query.featured": lambda _p, _i: {"id": "b1", "headline": "Winter sale"},
            "Query.deals": lambda _p, _i: [{"code": "A", "title": "Ten off"}, {"code": "B", "title": "Free shipping"}],
            "Query.product": lambda _p, _i, id: CATALOG_PRODUCTS.get(id),
            "Query.products": lambda _p, _i: list(CATALOG_PRODUCTS.values()),
        },
        entities={"Product": lambda rep: CATALOG_PRODUCTS.get(rep["id"])},
    )


def marketing() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  featured: Banner @shareable
  deals: [Deal!]! @shareable
}

type Banner @shareable {
  id: ID!
  imageUrl: String!
}

type Deal @shareable {
  code: String!
  percent: Int!
}

type Product @key(fields: "id") {
  id: ID!
  category: Category @shareable
}

type Category @shareable {
  details: String!
  label: Label
}

type Label @shareable {
  color: String!
}
"""
    )
    return Subgraph(
        "marketing",
        sdl,
        resolvers={
            "Query.featured": lambda _p, _i: {"id": "b1", "imageUrl": "/img/winter.png"},
            "Query.deals": lambda _p, _i: [{"code": "A", "percent": 10}, {"code": "B", "percent": 0}],
        },
        entities={
            "Product": lambda rep: {"id": rep["id"], "category": MARKETING_CATEGORIES.get(rep["id"])},
        },
    )


gw = scenario_gateway("shareable-values", lambda: [catalog(), marketing()])


class TestShareableRootValueType:
    def test_root_field_is_fetched_from_each_subgraph_and_merged(self, gw: GatewayClient) -> None:
        result = gw.query("{ featured { id headline imageUrl } }")
        assert result == {"data": {"featured": {"id": "b1", "headline": "Winter sale", "imageUrl": "/img/winter.png"}}}
        assert sorted(r.subgraph for r in gw.log.calls()) == ["catalog", "marketing"]
        assert all(not r.is_entities for r in gw.log.calls())

    def test_list_of_values_merges_by_position(self, gw: GatewayClient) -> None:
        result = gw.query("{ deals { code title percent } }")
        assert result == {
            "data": {
                "deals": [
                    {"code": "A", "title": "Ten off", "percent": 10},
                    {"code": "B", "title": "Free shipping", "percent": 0},
                ]
            }
        }
        assert sorted(r.subgraph for r in gw.log.calls()) == ["catalog", "marketing"]

    def test_fields_of_one_subgraph_stay_in_one_fetch(self, gw: GatewayClient) -> None:
        result = gw.query("{ featured { imageUrl } deals { percent } }")
        assert result == {
            "data": {"featured": {"imageUrl": "/img/winter.png"}, "deals": [{"percent": 10}, {"percent": 0}]}
        }
        assert [r.subgraph for r in gw.log.calls()] == ["marketing"]

    def test_aliases_and_typename_on_both_sides(self, gw: GatewayClient) -> None:
        result = gw.query("{ top: featured { __typename h: headline i: imageUrl } }")
        assert result == {"data": {"top": {"__typename": "Banner", "h": "Winter sale", "i": "/img/winter.png"}}}


class TestValueTypeUnderEntity:
    def test_value_fields_of_two_subgraphs_re_enter_through_the_entity_key(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(id: "p1") { name category { id details } } }')
        assert result == {"data": {"product": {"name": "Table", "category": {"id": "c1", "details": "Solid oak"}}}}
        (call,) = gw.log.entity_calls("marketing")
        assert call.representations == [{"__typename": "Product", "id": "p1"}]

    def test_nested_value_types_keep_the_path_down_to_the_missing_fields(self, gw: GatewayClient) -> None:
        result = gw.query("{ products { id category { label { text color } details } } }")
        assert result == {
            "data": {
                "products": [
                    {
                        "id": "p1",
                        "category": {"label": {"text": "Furniture", "color": "brown"}, "details": "Solid oak"},
                    },
                    {
                        "id": "p2",
                        "category": {"label": {"text": "Lighting", "color": "yellow"}, "details": "Warm light"},
                    },
                ]
            }
        }
        (call,) = gw.log.entity_calls("marketing")
        assert sorted(r["id"] for r in call.representations) == ["p1", "p2"]

    def test_each_half_alone_still_plans(self, gw: GatewayClient) -> None:
        assert gw.query('{ product(id: "p2") { category { id } } }') == {
            "data": {"product": {"category": {"id": "c2"}}}
        }
        assert gw.query('{ product(id: "p2") { category { details } } }') == {
            "data": {"product": {"category": {"details": "Warm light"}}}
        }


class TestConditionalRootField:
    def test_conditional_root_field_is_conditional_in_both_fetches(self, gw: GatewayClient) -> None:
        query = "query($on: Boolean!) { featured @include(if: $on) { headline imageUrl } }"
        assert gw.query(query, {"on": True}) == {
            "data": {"featured": {"headline": "Winter sale", "imageUrl": "/img/winter.png"}}
        }
        gw.log.clear()
        assert gw.query(query, {"on": False}) == {"data": {}}
