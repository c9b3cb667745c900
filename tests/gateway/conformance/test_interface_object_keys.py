"""`@interfaceObject` with `@key(resolvable: false)` (issue 13, item 7).

`billing` models the interface `Account` as an object with a non-resolvable key: it returns accounts
from its own root field (`overdue`) and knows `balance`, but no `_entities` fetch can enter it. So
`balance` is served where `billing` already answers, and a selection that would need an entity hop
into `billing` (`balance` under a type condition on an implementation, whose concrete type only
`accounts` knows) is a planning error, never a silently missing field. A conditional fragment on the
interface itself (`... on Account @include(if: $x) { balance }`) stays in `billing` (it was sent to
`accounts`, which failed to plan).

Both composers accept it (ours since its satisfiability check lets a type condition on an
@interfaceObject stay in its subgraph, as @apollo/composition does for `... on Business { balance }`;
the fixture below still skips `[ours]` should it reject the supergraph again). The planning
errors are our rule: @apollo/gateway plans an `_entities` fetch into `billing` that the subgraph
cannot answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph, SubgraphHost

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@interfaceObject"])\n'

ACCOUNTS: dict[str, dict[str, Any]] = {
    "a1": {"__typename": "Personal", "id": "a1", "name": "Ada"},
    "a2": {"__typename": "Business", "id": "a2", "name": "Acme Ltd", "vat": "GB123"},
}
BALANCES = {"a1": -40, "a2": -1200}


def accounts() -> Subgraph:
    sdl = (
        LINK
        + """
interface Account @key(fields: "id") {
  id: ID!
  name: String!
}

type Personal implements Account @key(fields: "id") {
  id: ID!
  name: String!
}

type Business implements Account @key(fields: "id") {
  id: ID!
  name: String!
  vat: String!
}
"""
    )
    return Subgraph(
        "accounts",
        sdl,
        entities={name: lambda rep: ACCOUNTS.get(rep["id"]) for name in ("Account", "Personal", "Business")},
    )


def billing() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  overdue: [Account!]!
}

type Account @key(fields: "id", resolvable: false) @interfaceObject {
  id: ID!
  balance: Int!
}
"""
    )
    rows = [{"__typename": "Account", "id": id_, "balance": balance} for id_, balance in BALANCES.items()]
    return Subgraph("billing", sdl, resolvers={"Query.overdue": lambda _p, _i: rows})


_gateway = scenario_gateway("interface-object-keys", lambda: [accounts(), billing()])


@pytest.fixture(scope="module")
def gw(composer: str, subgraph_host: SubgraphHost, request: pytest.FixtureRequest) -> Iterator[GatewayClient]:
    """The scenario's gateway; `subgraph_host` is named so the request logs are cleared per test."""
    try:
        yield request.getfixturevalue("_gateway")
    except Exception as exc:
        if composer == "ours" and "SATISFIABILITY_ERROR" in str(exc):
            pytest.skip("our composer rejects this supergraph: `overdue { ... on Personal { balance } }`")
        raise


ours_only = pytest.mark.skipif(
    os.environ.get("CONFORMANCE_GATEWAY") == "apollo", reason="our planning rule; @apollo/gateway fails at run time"
)


class TestNonResolvableInterfaceObject:
    def test_its_fields_are_served_where_it_answers(self, gw: GatewayClient) -> None:
        result = gw.query("{ overdue { __typename name balance } }")
        assert result == {
            "data": {
                "overdue": [
                    {"__typename": "Personal", "name": "Ada", "balance": -40},
                    {"__typename": "Business", "name": "Acme Ltd", "balance": -1200},
                ]
            }
        }
        (call,) = gw.log.entity_calls("accounts")
        assert call.representations == [{"__typename": "Account", "id": "a1"}, {"__typename": "Account", "id": "a2"}]
        assert gw.log.entity_calls("billing") == []

    def test_type_condition_on_the_interface_itself_stays_local(self, gw: GatewayClient) -> None:
        result = gw.query("{ overdue { ... on Account { balance } } }")
        assert result == {"data": {"overdue": [{"balance": -40}, {"balance": -1200}]}}
        assert [r.subgraph for r in gw.log.calls()] == ["billing"]

    def test_conditional_fragment_on_the_interface_stays_local(self, gw: GatewayClient) -> None:
        query = "query($x: Boolean!) { overdue { id ... on Account @include(if: $x) { balance } } }"
        assert gw.query(query, {"x": True}) == {
            "data": {"overdue": [{"id": "a1", "balance": -40}, {"id": "a2", "balance": -1200}]}
        }
        assert gw.query(query, {"x": False}) == {"data": {"overdue": [{"id": "a1"}, {"id": "a2"}]}}
        assert {r.subgraph for r in gw.log.calls()} == {"billing"}

    @ours_only
    def test_field_needing_a_hop_into_it_is_a_planning_error(self, gw: GatewayClient) -> None:
        result = gw.query("{ overdue { id ... on Business { vat balance } } }")
        assert "data" not in result or result["data"] is None
        (error,) = result["errors"]
        assert error["extensions"]["code"] == "QUERY_PLANNING_FAILED"
        assert "balance" in error["message"] and "billing" in error["message"]
        assert gw.log.calls() == []
