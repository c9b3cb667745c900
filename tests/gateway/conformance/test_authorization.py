"""@authenticated, @requiresScopes and @policy enforced at the gateway from the verified token.

Unauthorized fields (and fields returning unauthorized types, fragments on unauthorized types) are
removed before planning: they come back null with an UNAUTHORIZED_FIELD_OR_TYPE error at their
path, the rest of the operation is answered, and nothing unauthorized reaches a subgraph.

These are Apollo Router semantics (filter mode). @apollo/gateway refuses to load such supergraphs
(their links are `for: SECURITY`), so the module is skipped under CONFORMANCE_GATEWAY=apollo: the
[reference] variants check that the reference composer's supergraph (which carries the directives,
and an implementation's requirements up to its interfaces) gives the same answers as ours.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from tests.support.tokens import bearer

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph
from .harness.multipart import read_stream

LINK = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.6",
  import: ["@key", "@authenticated", "@requiresScopes", "@policy", "@shareable"])
"""

USERS = [
    {"id": "u1", "name": "Ada", "email": "ada@example.com"},
    {"id": "u2", "name": "Alan", "email": "alan@example.com"},
]
ITEMS: list[dict[str, Any]] = [
    {"__typename": "Note", "id": "n1", "text": "hello"},
    {"__typename": "Secret", "id": "s1", "code": "1234"},
]

pytestmark = pytest.mark.skipif(
    os.environ.get("CONFORMANCE_GATEWAY") == "apollo",
    reason="@apollo/gateway refuses supergraphs linking authenticated/requiresScopes/policy (for: SECURITY "
    "features it does not support); Apollo Router enforces them",
)


def accounts() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  products: [Product!]!
  me: User @authenticated
  users: [User!] @requiresScopes(scopes: [["read:users", "admin"], ["root"]])
  audit: [String!] @policy(policies: [["staff"], ["scope:audit"]])
  items: [Item!]
  search: [SearchResult!]!
}

type Mutation {
  rename(id: ID!, name: String!): User @requiresScopes(scopes: [["admin"]])
  ping: Boolean
}

type User @key(fields: "id") {
  id: ID!
  name: String!
  email: String @requiresScopes(scopes: [["read:email"]])
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String!
}

interface Item {
  id: ID!
}

type Note implements Item {
  id: ID!
  text: String
}

type Secret implements Item @authenticated {
  id: ID!
  code: String
}

union SearchResult = Note | Secret
"""
    )
    return Subgraph(
        "accounts",
        sdl,
        resolvers={
            "Query.products": lambda _p, _i: [{"upc": "1", "name": "Table"}, {"upc": "2", "name": "Lamp"}],
            "Query.me": lambda _p, _i: USERS[0],
            "Query.users": lambda _p, _i: USERS,
            "Query.audit": lambda _p, _i: ["login", "logout"],
            "Query.items": lambda _p, _i: ITEMS,
            "Query.search": lambda _p, _i: ITEMS,
            "Mutation.rename": lambda _p, _i, id, name: {"id": id, "name": name, "email": None},
            "Mutation.ping": lambda _p, _i: True,
        },
        entities={"User": lambda rep: next((u for u in USERS if u["id"] == rep["id"]), None)},
    )


def pricing() -> Subgraph:
    sdl = (
        LINK
        + """
type Product @key(fields: "upc") {
  upc: ID!
  price: Int!
  cost: Int @requiresScopes(scopes: [["finance"]])
}
"""
    )
    prices = {"1": (100, 60), "2": (20, 5)}
    return Subgraph(
        "pricing",
        sdl,
        entities={
            "Product": lambda rep: {"upc": rep["upc"], "price": prices[rep["upc"]][0], "cost": prices[rep["upc"]][1]}
        },
    )


gw = scenario_gateway(
    "authorization",
    lambda: [accounts(), pricing()],
    env={"GATEWAY_POLICY_DECIDER": "tests.gateway.conformance.harness.policies:StaffPolicies"},
)

ANONYMOUS: dict[str, str] = {}
ADA = bearer("ada")


def sent_field(gw: GatewayClient, subgraph: str, name: str) -> bool:
    """Whether any request to `subgraph` selected a field (or type condition) called `name`."""
    return any(re.search(rf"\b{name}\b", r.query) for r in gw.log.calls(subgraph))


def unauthorized(*paths: list[Any]) -> list[dict[str, Any]]:
    return [
        {"message": "Unauthorized field or type", "path": p, "extensions": {"code": "UNAUTHORIZED_FIELD_OR_TYPE"}}
        for p in paths
    ]


def test_authenticated_field_is_null_with_an_error_and_the_rest_is_answered(gw: GatewayClient) -> None:
    result = gw.query("{ me { name } products { name } }", headers=ANONYMOUS)
    assert result == {
        "errors": unauthorized(["me"]),
        "data": {"me": None, "products": [{"name": "Table"}, {"name": "Lamp"}]},
    }
    assert gw.log.calls("accounts") and not sent_field(gw, "accounts", "me")


def test_a_verified_token_sees_authenticated_fields(gw: GatewayClient) -> None:
    result = gw.query("{ me { name } }", headers=ADA)
    assert result == {"data": {"me": {"name": "Ada"}}}


def test_requires_scopes_is_an_or_of_ands(gw: GatewayClient) -> None:
    query = "{ users { name } }"
    denied = {"errors": unauthorized(["users"]), "data": {"users": None}}
    allowed = {"data": {"users": [{"name": "Ada"}, {"name": "Alan"}]}}
    assert gw.query(query, headers=ANONYMOUS) == denied
    assert gw.query(query, headers=bearer("ada", "read:users")) == denied  # half of the first AND
    assert gw.query(query, headers=bearer("ada", "read:users", "admin")) == allowed
    assert gw.query(query, headers=bearer("ada", "root")) == allowed


def test_nested_field_path_has_list_markers_and_siblings_survive(gw: GatewayClient) -> None:
    result = gw.query("{ users { name email } }", headers=bearer("ada", "root"))
    assert result == {
        "errors": unauthorized(["users", "@", "email"]),
        "data": {"users": [{"name": "Ada", "email": None}, {"name": "Alan", "email": None}]},
    }
    assert gw.log.calls("accounts") and not sent_field(gw, "accounts", "email")


def test_unauthorized_entity_field_is_never_fetched(gw: GatewayClient) -> None:
    result = gw.query("{ products { name cost } }", headers=ADA)
    assert result == {
        "errors": unauthorized(["products", "@", "cost"]),
        "data": {"products": [{"name": "Table", "cost": None}, {"name": "Lamp", "cost": None}]},
    }
    assert gw.log.entity_calls("pricing") == []


def test_removed_entity_field_keeps_its_siblings_in_the_same_fetch(gw: GatewayClient) -> None:
    result = gw.query("{ products { price cost } }", headers=ADA)
    assert result["data"] == {"products": [{"price": 100, "cost": None}, {"price": 20, "cost": None}]}
    assert result["errors"] == unauthorized(["products", "@", "cost"])
    (call,) = gw.log.entity_calls("pricing")
    assert "price" in call.query and not sent_field(gw, "pricing", "cost")
    granted = gw.query("{ products { price cost } }", headers=bearer("ada", "finance"))
    assert granted == {"data": {"products": [{"price": 100, "cost": 60}, {"price": 20, "cost": 5}]}}


def test_policies_are_decided_by_the_configured_plugin_and_the_defaults(gw: GatewayClient) -> None:
    query = "{ audit }"
    denied = {"errors": unauthorized(["audit"]), "data": {"audit": None}}
    allowed = {"data": {"audit": ["login", "logout"]}}
    assert gw.query(query, headers=ANONYMOUS) == denied
    assert gw.query(query, headers=ADA) == denied
    assert gw.query(query, headers=bearer("staff-bob")) == allowed  # the plug-in's `staff`
    assert gw.query(query, headers=bearer("ada", "audit")) == allowed  # the default `scope:audit`


def test_fragment_on_an_unauthorized_type_is_removed(gw: GatewayClient) -> None:
    query = "{ search { __typename ... on Note { id text } ... on Secret { code } } }"
    assert gw.query(query, headers=ANONYMOUS) == {
        "errors": unauthorized(["search", "@"]),
        "data": {
            "search": [{"__typename": "Note", "id": "n1", "text": "hello"}, {"__typename": "Secret", "code": None}]
        },
    }
    assert gw.log.calls("accounts") and not sent_field(gw, "accounts", "code")
    assert gw.query(query, headers=ADA) == {
        "data": {
            "search": [{"__typename": "Note", "id": "n1", "text": "hello"}, {"__typename": "Secret", "code": "1234"}]
        }
    }


def test_an_interface_needs_what_its_implementations_need(gw: GatewayClient) -> None:
    # composition carries Secret's @authenticated up to Item: a field returning Item is protected
    # even when the operation only spreads fragments on the permitted implementations
    query = "{ items { __typename ... on Note { text } } }"
    assert gw.query(query, headers=ANONYMOUS) == {"errors": unauthorized(["items"]), "data": {"items": None}}
    assert gw.query(query, headers=ADA) == {
        "data": {"items": [{"__typename": "Note", "text": "hello"}, {"__typename": "Secret"}]}
    }


def test_interface_field_selected_directly_needs_every_implementation(gw: GatewayClient) -> None:
    result = gw.query("{ items { id } products { name } }", headers=ANONYMOUS)
    assert result == {
        "errors": unauthorized(["items"]),
        "data": {"items": None, "products": [{"name": "Table"}, {"name": "Lamp"}]},
    }
    assert gw.query("{ items { id } }", headers=ADA) == {"data": {"items": [{"id": "n1"}, {"id": "s1"}]}}


def test_everything_removed_sends_nothing(gw: GatewayClient) -> None:
    result = gw.query("{ me { id } users { id } }", headers=ANONYMOUS)
    assert result == {"errors": unauthorized(["me"], ["users"]), "data": {"me": None, "users": None}}
    assert gw.log.calls() == []


def test_plans_are_cached_per_authorization_outcome(gw: GatewayClient) -> None:
    query = "query Same { users { name email } }"
    for _ in range(2):
        granted = gw.query(query, headers=bearer("ada", "root", "read:email"))
        assert granted == {
            "data": {
                "users": [{"name": "Ada", "email": "ada@example.com"}, {"name": "Alan", "email": "alan@example.com"}]
            }
        }
        narrower = gw.query(query, headers=bearer("alan", "root"))
        assert narrower["errors"] == unauthorized(["users", "@", "email"])
        assert narrower["data"] == {"users": [{"name": "Ada", "email": None}, {"name": "Alan", "email": None}]}
        assert gw.query(query, headers=ANONYMOUS) == {"errors": unauthorized(["users"]), "data": {"users": None}}


def test_an_unauthorized_mutation_field_is_never_run(gw: GatewayClient) -> None:
    mutation = 'mutation { rename(id: "u1", name: "Eve") { name } ping }'
    assert gw.query(mutation, headers=ADA) == {
        "errors": unauthorized(["rename"]),
        "data": {"rename": None, "ping": True},
    }
    assert gw.log.calls("accounts") and not sent_field(gw, "accounts", "rename")
    admin = gw.query(mutation, headers=bearer("root", "admin"))
    assert admin == {"data": {"rename": {"name": "Eve"}, "ping": True}}


def test_a_bad_token_is_refused_before_any_authorization(gw: GatewayClient) -> None:
    response = gw.post({"query": "{ me { name } }"}, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_query_plan_shows_the_authorized_operation(gw: GatewayClient) -> None:
    result = gw.query("{ users { name email } }", headers={**bearer("ada", "root"), "X-Query-Plan": "true"})
    text = result["extensions"]["queryPlan"]["text"]
    assert "name" in text and "email" not in text


def test_a_deferred_fragment_is_filtered_like_the_rest(gw: GatewayClient) -> None:
    """@defer takes the incremental path; it must apply the same authorization as a plain response."""
    body = {"query": "{ products { name ... @defer(label: \"money\") { price cost } } }"}
    stream = read_stream(gw.http, body, headers=ADA)
    assert stream.content_type.startswith("multipart/mixed")
    assert stream.payloads[0]["hasNext"] is True
    merged = stream.merged()
    assert merged["data"] == {
        "products": [{"name": "Table", "price": 100, "cost": None}, {"name": "Lamp", "price": 20, "cost": None}]
    }
    assert merged["errors"] == unauthorized(["products", "@", "cost"])
    assert gw.log.entity_calls("pricing") and not sent_field(gw, "pricing", "cost")
