"""HTTP surface: POST/GET, mutations over GET, bad input -> 4xx with GraphQL errors (never 500),
API-schema introspection without join__/link__ machinery, X-Query-Plan, /health and /ready."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@inaccessible"])\n'

USERS = {"1": {"__typename": "User", "id": "1", "name": "Ada Lovelace"}}


def accounts() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  me: User
  hello(name: String = "world"): String!
}

type Mutation {
  rename(name: String!): User
}

type User @key(fields: "id") {
  id: ID!
  name: String!
}
"""
    )
    return Subgraph(
        "accounts",
        sdl,
        resolvers={
            "Query.me": lambda _p, _i: USERS["1"],
            "Query.hello": lambda _p, _i, name="world": f"hello {name}",
            "Mutation.rename": lambda _p, _i, name: {**USERS["1"], "name": name},
        },
        entities={"User": lambda rep: USERS.get(rep["id"])},
    )


def reviews() -> Subgraph:
    sdl = (
        LINK
        + """
type User @key(fields: "id") {
  id: ID!
  reviewCount: Int!
  secretScore: Int @inaccessible
}
"""
    )
    return Subgraph(
        "reviews", sdl, entities={"User": lambda rep: {"id": rep["id"], "reviewCount": 2, "secretScore": 7}}
    )


gw = scenario_gateway("server", lambda: [accounts(), reviews()])


def assert_request_error(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("data") is None, body
    assert isinstance(body["errors"], list) and body["errors"], body
    assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"]), body


class TestTransport:
    def test_post_json(self, gw: GatewayClient) -> None:
        response = gw.post({"query": "query Q($n: String) { hello(name: $n) }", "variables": {"n": "Ada"}})
        assert response.status_code == 200
        assert response.json() == {"data": {"hello": "hello Ada"}}

    def test_get_with_query_and_variables(self, gw: GatewayClient) -> None:
        response = gw.http.get(
            "/graphql",
            params={
                "query": "query Q($n: String) { hello(name: $n) me { reviewCount } }",
                "variables": json.dumps({"n": "GET"}),
            },
        )
        assert response.status_code == 200
        assert response.json() == {"data": {"hello": "hello GET", "me": {"reviewCount": 2}}}

    def test_get_with_operation_name(self, gw: GatewayClient) -> None:
        response = gw.http.get(
            "/graphql", params={"query": "query A { hello } query B { me { name } }", "operationName": "B"}
        )
        assert response.status_code == 200
        assert response.json() == {"data": {"me": {"name": "Ada Lovelace"}}}

    def test_mutation_over_get_is_405(self, gw: GatewayClient) -> None:
        response = gw.http.get("/graphql", params={"query": 'mutation { rename(name: "x") { name } }'})
        assert response.status_code == 405
        assert gw.log.calls() == []

    def test_mutation_over_post(self, gw: GatewayClient) -> None:
        assert gw.query('mutation { rename(name: "Countess") { name reviewCount } }') == {
            "data": {"rename": {"name": "Countess", "reviewCount": 2}}
        }

    def test_health_and_ready(self, gw: GatewayClient) -> None:
        assert gw.http.get("/health").status_code == 200
        assert gw.http.get("/ready").status_code == 200


class TestBadInput:
    def _post_raw(self, gw: GatewayClient, content: bytes) -> httpx.Response:
        return gw.http.post("/graphql", content=content, headers={"content-type": "application/json"})

    def test_invalid_json(self, gw: GatewayClient) -> None:
        assert_request_error(self._post_raw(gw, b'{"query": "{ hello }"'))

    def test_invalid_utf8(self, gw: GatewayClient) -> None:
        assert_request_error(self._post_raw(gw, b'{"query": "{ hello \xff\xfe }"}'))

    @pytest.mark.parametrize("body", [[{"query": "{ hello }"}], "{ hello }", 42, None])
    def test_body_not_an_object(self, gw: GatewayClient, body: Any) -> None:
        assert_request_error(self._post_raw(gw, json.dumps(body).encode()))

    def test_missing_query(self, gw: GatewayClient) -> None:
        assert_request_error(gw.post({"variables": {}}))

    def test_query_not_a_string(self, gw: GatewayClient) -> None:
        assert_request_error(gw.post({"query": 12}))

    def test_variables_not_an_object(self, gw: GatewayClient) -> None:
        assert_request_error(gw.post({"query": "{ hello }", "variables": [1]}))

    def test_syntax_error(self, gw: GatewayClient) -> None:
        assert_request_error(gw.post({"query": "{ hello "}))

    def test_unknown_operation_name(self, gw: GatewayClient) -> None:
        assert_request_error(gw.post({"query": "query A { hello }", "operationName": "Nope"}))

    def test_several_operations_without_operation_name(self, gw: GatewayClient) -> None:
        assert_request_error(gw.post({"query": "query A { hello } query B { hello }"}))

    def test_validation_error(self, gw: GatewayClient) -> None:
        response = gw.post({"query": "{ me { nope } }"})
        assert_request_error(response)
        assert "nope" in response.json()["errors"][0]["message"]
        assert gw.log.calls() == []

    def test_missing_required_variable(self, gw: GatewayClient) -> None:
        assert_request_error(gw.post({"query": "mutation ($n: String!) { rename(name: $n) { name } }"}))
        assert gw.log.calls() == []


class TestIntrospectionAndPlans:
    def test_api_schema_has_no_federation_machinery(self, gw: GatewayClient) -> None:
        result = gw.query("{ __schema { types { name } directives { name } queryType { fields { name } } } }")
        schema = result["data"]["__schema"]
        type_names = {t["name"] for t in schema["types"]}
        assert {"Query", "Mutation", "User"} <= type_names
        leaked = sorted(
            n
            for n in type_names
            if n.startswith(("join__", "link__", "core__")) or n in ("_Any", "_Entity", "_Service", "FieldSet")
        )
        assert leaked == []
        directives = {d["name"] for d in schema["directives"]}
        assert directives <= {"include", "skip", "deprecated", "specifiedBy", "oneOf", "defer", "stream"}
        assert {"include", "skip", "deprecated"} <= directives
        assert sorted(f["name"] for f in schema["queryType"]["fields"]) == ["hello", "me"]

    def test_user_type_merged_without_inaccessible_field(self, gw: GatewayClient) -> None:
        result = gw.query('{ __type(name: "User") { fields { name } } }')
        assert sorted(f["name"] for f in result["data"]["__type"]["fields"]) == ["id", "name", "reviewCount"]

    def test_query_plan_header(self, gw: GatewayClient) -> None:
        result = gw.query("{ me { name reviewCount } }", headers={"X-Query-Plan": "true"})
        assert result["data"] == {"me": {"name": "Ada Lovelace", "reviewCount": 2}}
        plan = result["extensions"]["queryPlan"]
        assert plan
        text = json.dumps(plan)
        assert "accounts" in text and "reviews" in text

    def test_no_query_plan_without_header(self, gw: GatewayClient) -> None:
        result = gw.query("{ me { name } }")
        assert "queryPlan" not in (result.get("extensions") or {})
