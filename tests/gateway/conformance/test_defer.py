"""Incremental delivery (@defer): a deferred fragment becomes its own part of the plan, fetched after
the primary part from the primary's data and streamed as `multipart/mixed` (deferSpec=20220824).

@apollo/gateway has no @defer (its API schema leaves the directive out, its executor refuses Defer
plan nodes), so under CONFORMANCE_GATEWAY=apollo these scenarios send the operation without its
@defer directives and check that the parts add up to the reference's complete answer: deferring
must not change the result. The part-by-part assertions, the validation rules (the incremental-delivery
spec's, as graphql-core words them) and the timing are ours only (`ours_only`).
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from graphql import GraphQLError

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph
from .harness.multipart import Stream, read_stream

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
DELAY = 2.0  # the tracking subgraph answers this late (a margin for a busy machine)
REFERENCE = os.environ.get("CONFORMANCE_GATEWAY") == "apollo"
ours_only = pytest.mark.skipif(REFERENCE, reason="@apollo/gateway does not implement @defer")

ORDERS = {
    "1": {
        "id": "1",
        "status": "SHIPPED",
        "total": 120,
        "lines": [{"sku": "A", "quantity": 1}],
        "shipments": [
            {"__typename": "Parcel", "id": "p1", "carrier": "DHL"},
            {"__typename": "Pickup", "id": "s1", "store": "Main St"},
            {"__typename": "Parcel", "id": "p2", "carrier": "UPS"},
        ],
    },
    "2": {
        "id": "2",
        "status": "PAID",
        "total": 40,
        "lines": [{"sku": "B", "quantity": 2}, {"sku": "C", "quantity": 1}],
    },
}


def orders() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  order(id: ID!): Order
  orders: [Order!]!
}

type Mutation {
  placeOrder(sku: String!): Order!
}

type Order @key(fields: "id") {
  id: ID!
  status: String!
  total: Int!
  lines: [Line!]!
  shipments: [Shipment!]!
}

interface Shipment {
  id: ID!
}

type Parcel implements Shipment @key(fields: "id") {
  id: ID!
  carrier: String!
}

type Pickup implements Shipment {
  id: ID!
  store: String!
}

type Line {
  sku: String!
  quantity: Int!
}
"""
    )
    return Subgraph(
        "orders",
        sdl,
        resolvers={
            "Query.order": lambda _p, _i, id: ORDERS.get(id),
            "Query.orders": lambda _p, _i: list(ORDERS.values()),
            "Mutation.placeOrder": lambda _p, _i, sku: {
                "id": "9",
                "status": "NEW",
                "total": 5,
                "lines": [{"sku": sku, "quantity": 1}],
            },
        },
        entities={"Order": lambda rep: ORDERS.get(rep["id"]) or {"id": rep["id"], "status": "NEW", "total": 5}},
    )


def _alert(parent: dict[str, Any], _info: Any) -> Any:
    if parent["id"] == "2":
        raise GraphQLError("alerts for order 2 are unavailable", extensions={"code": "ALERTS_DOWN"})
    return f"order {parent['id']} is on its way"


def _priority(parent: dict[str, Any], _info: Any) -> Any:
    if parent["id"] == "2":
        raise GraphQLError("no priority for order 2")
    return 1


def notifications() -> Subgraph:
    sdl = (
        LINK
        + """
type Order @key(fields: "id") {
  id: ID!
  notifications: [Notification!]!
  alert: String
  priority: Int!
}

type Parcel @key(fields: "id") {
  id: ID!
  eta: String
}

type Notification {
  id: ID!
  message: String!
}
"""
    )
    return Subgraph(
        "notifications",
        sdl,
        resolvers={
            "Order.notifications": lambda parent, _i: [
                {"id": f"n{parent['id']}", "message": f"order {parent['id']} updated"}
            ],
            "Order.alert": _alert,
            "Order.priority": _priority,
            "Parcel.eta": lambda parent, _i: f"eta of {parent['id']}",
        },
        entities={"Order": lambda rep: {"id": rep["id"]}, "Parcel": lambda rep: {"id": rep["id"]}},
    )


def tracking() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  carrierStatus: String!
}

type Order @key(fields: "id") {
  id: ID!
  trackingCode: String
}
"""
    )
    return Subgraph(
        "tracking",
        sdl,
        resolvers={
            "Query.carrierStatus": lambda _p, _i: "all carriers up",
            "Order.trackingCode": lambda parent, _i: f"TRK-{parent['id']}",
        },
        entities={"Order": lambda rep: {"id": rep["id"]}},
        delay=DELAY,
    )


def warehouse() -> Subgraph:
    """Down: every fetch of its fields fails."""
    sdl = LINK + 'type Order @key(fields: "id") {\n  id: ID!\n  stock: String\n}\n'
    return Subgraph("warehouse", sdl, down=True)


gw = scenario_gateway("defer", lambda: [orders(), notifications(), tracking(), warehouse()])

_DEFER = re.compile(r"@defer(\([^)]*\))?")


def stream(gw: GatewayClient, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Stream:
    """The parts of `query`; against the reference gateway, of `query` without its @defer."""
    body: dict[str, Any] = {"query": _DEFER.sub("", query) if REFERENCE else query}
    if variables is not None:
        body["variables"] = variables
    return read_stream(gw.http, body, **kwargs)


def error_paths(result: dict[str, Any]) -> list[Any]:
    return [e.get("path") for e in result.get("errors", [])]


class TestDeferredEntityFields:
    def test_fields_of_the_same_subgraph_come_in_a_later_part(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "1") { id ... @defer(label: "details") { status total } } }')
        assert result.merged() == {"data": {"order": {"id": "1", "status": "SHIPPED", "total": 120}}}
        if not REFERENCE:
            assert result.payloads == [
                {"data": {"order": {"id": "1"}}, "hasNext": True},
                {
                    "incremental": [
                        {"data": {"status": "SHIPPED", "total": 120}, "path": ["order"], "label": "details"}
                    ],
                    "hasNext": False,
                },
            ]
            # the deferred part is its own fetch: an entity fetch from the primary's key
            assert len(gw.log.root_calls("orders")) == 1
            assert gw.log.entity_calls("orders")[0].representations == [{"__typename": "Order", "id": "1"}]

    def test_fields_of_another_subgraph(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "1") { status ... @defer { notifications { message } } } }')
        expected = {"order": {"status": "SHIPPED", "notifications": [{"message": "order 1 updated"}]}}
        assert result.merged() == {"data": expected}
        if not REFERENCE:
            assert result.payloads[0] == {"data": {"order": {"status": "SHIPPED"}}, "hasNext": True}
            assert result.payloads[1:] == [
                {
                    "incremental": [{"data": {"notifications": [{"message": "order 1 updated"}]}, "path": ["order"]}],
                    "hasNext": False,
                }
            ]

    def test_one_item_per_list_element(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ orders { id ... @defer(label: "n") { notifications { id } } } }')
        assert result.merged() == {
            "data": {
                "orders": [{"id": "1", "notifications": [{"id": "n1"}]}, {"id": "2", "notifications": [{"id": "n2"}]}]
            }
        }
        if not REFERENCE:
            assert result.payloads[1] == {
                "incremental": [
                    {"data": {"notifications": [{"id": "n1"}]}, "path": ["orders", 0], "label": "n"},
                    {"data": {"notifications": [{"id": "n2"}]}, "path": ["orders", 1], "label": "n"},
                ],
                "hasNext": False,
            }
            assert len(gw.log.entity_calls("notifications")) == 1  # one batch for the whole list

    def test_a_missing_object_gets_no_deferred_part(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "404") { id ... @defer { notifications { id } } } }')
        assert result.merged() == {"data": {"order": None}}
        if not REFERENCE:
            assert result.payloads == [{"data": {"order": None}, "hasNext": False}]

    def test_a_value_type_is_fetched_with_its_parent_and_delivered_later(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "2") { id lines { sku ... @defer { quantity } } } }')
        lines = [{"sku": "B", "quantity": 2}, {"sku": "C", "quantity": 1}]
        assert result.merged() == {"data": {"order": {"id": "2", "lines": lines}}}
        if not REFERENCE:
            assert result.payloads[0] == {
                "data": {"order": {"id": "2", "lines": [{"sku": "B"}, {"sku": "C"}]}},
                "hasNext": True,
            }
            assert [i["path"] for i in result.payloads[1]["incremental"]] == [
                ["order", "lines", 0],
                ["order", "lines", 1],
            ]
            assert gw.log.subgraphs_called() == ["orders"]  # no key: nothing else could fetch it later

    def test_a_type_condition_selects_the_items(self, gw: GatewayClient) -> None:
        query = '{ order(id: "1") { shipments { id ... on Parcel @defer(label: "eta") { eta } } } }'
        result = stream(gw, query)
        shipments = [{"id": "p1", "eta": "eta of p1"}, {"id": "s1"}, {"id": "p2", "eta": "eta of p2"}]
        assert result.merged() == {"data": {"order": {"shipments": shipments}}}
        if not REFERENCE:
            assert result.payloads[1] == {
                "incremental": [
                    {"data": {"eta": "eta of p1"}, "path": ["order", "shipments", 0], "label": "eta"},
                    {"data": {"eta": "eta of p2"}, "path": ["order", "shipments", 2], "label": "eta"},
                ],
                "hasNext": False,
            }
            (call,) = gw.log.entity_calls("notifications")
            assert call.representations == [{"__typename": "Parcel", "id": "p1"}, {"__typename": "Parcel", "id": "p2"}]

    def test_one_part_from_two_subgraphs(self, gw: GatewayClient) -> None:
        query = '{ order(id: "1") { id ... @defer(label: "both") { status notifications { id } } } }'
        result = stream(gw, query)
        assert result.merged() == {"data": {"order": {"id": "1", "status": "SHIPPED", "notifications": [{"id": "n1"}]}}}
        if not REFERENCE:
            assert result.payloads[1] == {
                "incremental": [
                    {"data": {"status": "SHIPPED", "notifications": [{"id": "n1"}]}, "path": ["order"], "label": "both"}
                ],
                "hasNext": False,
            }

    def test_a_deferred_named_fragment(self, gw: GatewayClient) -> None:
        query = """query Page { order(id: "1") { id ...Money @defer(label: "money") } }
            fragment Money on Order { total }"""
        result = stream(gw, query)
        assert result.merged() == {"data": {"order": {"id": "1", "total": 120}}}
        if not REFERENCE:
            assert result.payloads[1]["incremental"] == [{"data": {"total": 120}, "path": ["order"], "label": "money"}]

    def test_a_get_request_streams_too(self, gw: GatewayClient) -> None:
        query = '{ order(id: "1") { id ... @defer(label: "g") { total } } }'
        # the header only for @apollo/server's CSRF rule on GET (a preflighted request)
        result = stream(gw, query, method="GET", headers={"apollo-require-preflight": "true"})
        assert result.merged() == {"data": {"order": {"id": "1", "total": 120}}}
        if not REFERENCE:
            assert result.payloads[1]["incremental"] == [{"data": {"total": 120}, "path": ["order"], "label": "g"}]


class TestDeliveryOrder:
    def test_the_primary_part_arrives_before_the_slow_deferred_part(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "1") { status ... @defer(label: "tracking") { trackingCode } } }')
        assert result.merged() == {"data": {"order": {"status": "SHIPPED", "trackingCode": "TRK-1"}}}
        if not REFERENCE:
            primary, deferred = result.parts
            assert primary.payload == {"data": {"order": {"status": "SHIPPED"}}, "hasNext": True}
            assert primary.at < DELAY  # streamed while the tracking subgraph still works
            assert deferred.at >= DELAY
            assert deferred.payload["incremental"][0]["data"] == {"trackingCode": "TRK-1"}

    def test_parts_are_delivered_as_each_is_ready(self, gw: GatewayClient) -> None:
        query = """{ order(id: "1") { id
            ... @defer(label: "slow") { trackingCode }
            ... @defer(label: "fast") { notifications { id } } } }"""
        result = stream(gw, query)
        assert result.merged() == {
            "data": {"order": {"id": "1", "trackingCode": "TRK-1", "notifications": [{"id": "n1"}]}}
        }
        if not REFERENCE:
            labels = [p.payload["incremental"][0]["label"] for p in result.parts[1:]]
            assert labels == ["fast", "slow"]
            assert result.parts[1].at < DELAY <= result.parts[2].at
            assert [p.payload["hasNext"] for p in result.parts] == [True, True, False]

    def test_root_fields_deferred(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "1") { id } ... @defer(label: "root") { carrierStatus } }')
        assert result.merged() == {"data": {"order": {"id": "1"}, "carrierStatus": "all carriers up"}}
        if not REFERENCE:
            assert result.payloads == [
                {"data": {"order": {"id": "1"}}, "hasNext": True},
                {
                    "incremental": [{"data": {"carrierStatus": "all carriers up"}, "path": [], "label": "root"}],
                    "hasNext": False,
                },
            ]

    def test_everything_deferred(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ ... @defer(label: "all") { __typename order(id: "2") { total } } }')
        assert result.merged() == {"data": {"__typename": "Query", "order": {"total": 40}}}
        if not REFERENCE:
            assert result.payloads == [
                {"data": {}, "hasNext": True},
                {
                    "incremental": [
                        {"data": {"__typename": "Query", "order": {"total": 40}}, "path": [], "label": "all"}
                    ],
                    "hasNext": False,
                },
            ]

    def test_a_nested_defer_follows_its_parent(self, gw: GatewayClient) -> None:
        query = """{ order(id: "1") { id ... @defer(label: "outer") { status
            ... @defer(label: "inner") { notifications { message } } } } }"""
        result = stream(gw, query)
        expected = {"id": "1", "status": "SHIPPED", "notifications": [{"message": "order 1 updated"}]}
        assert result.merged() == {"data": {"order": expected}}
        if not REFERENCE:
            assert result.payloads[1:] == [
                {
                    "incremental": [{"data": {"status": "SHIPPED"}, "path": ["order"], "label": "outer"}],
                    "hasNext": True,
                },
                {
                    "incremental": [
                        {
                            "data": {"notifications": [{"message": "order 1 updated"}]},
                            "path": ["order"],
                            "label": "inner",
                        }
                    ],
                    "hasNext": False,
                },
            ]


class TestErrorsInDeferredParts:
    def test_an_error_lands_in_its_part(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ orders { id ... @defer(label: "alert") { alert } } }')
        merged = result.merged()
        assert merged["data"] == {"orders": [{"id": "1", "alert": "order 1 is on its way"}, {"id": "2", "alert": None}]}
        assert error_paths(merged) == [["orders", 1, "alert"]]
        if not REFERENCE:
            primary, deferred = result.payloads
            assert "errors" not in primary
            first, second = deferred["incremental"]
            assert "errors" not in first
            assert second["data"] == {"alert": None}
            assert [e["message"] for e in second["errors"]] == ["alerts for order 2 are unavailable"]
            assert second["errors"][0]["path"] == ["orders", 1, "alert"]

    def test_a_subgraph_down_fails_its_part_only(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "1") { id ... @defer(label: "stock") { stock } } }')
        merged = result.merged()
        assert merged["data"] == {"order": {"id": "1", "stock": None}}
        assert len(merged["errors"]) == 1
        if not REFERENCE:  # the reference's error has no path; ours names the field left null
            assert error_paths(merged) == [["order", "stock"]]
            primary, deferred = result.payloads
            assert primary == {"data": {"order": {"id": "1"}}, "hasNext": True}
            (item,) = deferred["incremental"]
            assert item["data"] == {"stock": None}
            assert item["errors"][0]["extensions"]["code"] == "SUBREQUEST_HTTP_ERROR"

    @ours_only  # deferring bounds null propagation (the spec's rule): without it the order is null
    def test_a_null_in_a_non_null_field_nulls_the_item(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "2") { id ... @defer(label: "p") { priority } } }')
        primary, deferred = result.payloads
        assert primary == {"data": {"order": {"id": "2"}}, "hasNext": True}
        (item,) = deferred["incremental"]
        assert item["data"] is None and item["path"] == ["order"] and item["label"] == "p"
        assert [e["message"] for e in item["errors"]] == ["no priority for order 2"]
        assert item["errors"][0]["path"] == ["order", "priority"]


class TestWithoutIncrementalDelivery:
    def test_without_multipart_accept_everything_comes_in_one_response(self, gw: GatewayClient) -> None:
        query = '{ order(id: "1") { id ... @defer { status notifications { id } } } }'
        result = stream(gw, query, accept="application/json")
        assert result.content_type.startswith("application/json")
        assert result.payloads == [
            {"data": {"order": {"id": "1", "status": "SHIPPED", "notifications": [{"id": "n1"}]}}, "hasNext": False}
        ]

    def test_include_false_on_a_deferred_fragment_drops_it(self, gw: GatewayClient) -> None:
        query = 'query ($x: Boolean!) { order(id: "1") { id ... @include(if: $x) @defer { status } } }'
        result = stream(gw, query, {"x": False})
        assert result.merged() == {"data": {"order": {"id": "1"}}}
        if not REFERENCE:
            assert result.payloads == [{"data": {"order": {"id": "1"}}, "hasNext": False}]
            assert gw.log.entity_calls("orders") == []

    def test_defer_if_false_is_not_deferred(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "1") { id ... @defer(if: false) { status } } }')
        assert result.content_type.startswith("application/json")
        assert result.payloads == [{"data": {"order": {"id": "1", "status": "SHIPPED"}}, "hasNext": False}]

    @ours_only  # without its @defer the operation's $d is unused: the reference refuses it
    @pytest.mark.parametrize("deferred", [True, False])
    def test_defer_if_variable(self, gw: GatewayClient, deferred: bool) -> None:
        query = 'query ($d: Boolean!) { order(id: "1") { id ... @defer(if: $d) { status } } }'
        result = stream(gw, query, {"d": deferred})
        assert result.merged() == {"data": {"order": {"id": "1", "status": "SHIPPED"}}}
        assert len(result.parts) == (2 if deferred else 1)


@ours_only
class TestValidation:
    def test_labels_are_unique(self, gw: GatewayClient) -> None:
        response = gw.post(
            {"query": '{ order(id: "1") { ... @defer(label: "a") { id } ... @defer(label: "a") { status } } }'}
        )
        assert response.status_code == 400
        (error,) = response.json()["errors"]
        assert error["message"] == "Defer/Stream directive label argument must be unique."
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    def test_labels_are_static(self, gw: GatewayClient) -> None:
        response = gw.post({"query": 'query ($l: String) { order(id: "1") { ... @defer(label: $l) { id } } }'})
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"] == "Defer directive label argument must be a static string."

    def test_no_defer_on_the_mutation_root(self, gw: GatewayClient) -> None:
        response = gw.post({"query": 'mutation { ... @defer { placeOrder(sku: "A") { id } } }'})
        assert response.status_code == 400
        assert (
            response.json()["errors"][0]["message"]
            == "Defer directive cannot be used on root mutation type 'Mutation'."
        )

    def test_a_mutation_result_may_defer(self, gw: GatewayClient) -> None:
        result = stream(gw, 'mutation { placeOrder(sku: "A") { id ... @defer { notifications { id } } } }')
        assert result.payloads == [
            {"data": {"placeOrder": {"id": "9"}}, "hasNext": True},
            {"incremental": [{"data": {"notifications": [{"id": "n9"}]}, "path": ["placeOrder"]}], "hasNext": False},
        ]
        assert len(gw.log.root_calls("orders")) == 1  # the mutation runs once

    def test_the_api_schema_declares_defer(self, gw: GatewayClient) -> None:
        result = gw.query("{ __schema { directives { name args { name type { kind name ofType { name } } } } } }")
        (defer,) = [d for d in result["data"]["__schema"]["directives"] if d["name"] == "defer"]
        assert {a["name"] for a in defer["args"]} == {"if", "label"}


@ours_only
class TestWireFormat:
    def test_the_multipart_body_is_apollo_servers(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "1") { id ... @defer { status } } }')
        assert result.content_type == 'multipart/mixed; boundary="-"; deferSpec=20220824'
        head = b"content-type: application/json; charset=utf-8\r\n\r\n"
        assert result.raw == (
            b"\r\n---\r\n"
            + head
            + b'{"data":{"order":{"id":"1"}},"hasNext":true}\r\n---\r\n'
            + head
            + b'{"incremental":[{"data":{"status":"SHIPPED"},"path":["order"]}],"hasNext":false}\r\n-----\r\n'
        )

    def test_the_query_plan_shows_the_deferred_part(self, gw: GatewayClient) -> None:
        result = stream(
            gw, '{ order(id: "1") { id ... @defer(label: "t") { trackingCode } } }', headers={"x-query-plan": "true"}
        )
        plan = result.payloads[0]["extensions"]["queryPlan"]
        assert plan["json"]["node"]["kind"] == "Defer"
        (deferred,) = plan["json"]["node"]["deferred"]
        assert deferred["label"] == "t" and deferred["path"] == ["order"]
        assert deferred["node"]["node"]["serviceName"] == "tracking"
        assert 'Deferred(path: "order", label: "t")' in plan["text"]

    def test_only_multipart_accepted_still_answers_a_plain_query(self, gw: GatewayClient) -> None:
        result = stream(gw, '{ order(id: "1") { id } }', accept="multipart/mixed; deferSpec=20220824")
        assert result.status == 200
        assert result.payloads == [{"data": {"order": {"id": "1"}}, "hasNext": False}]
