"""Sibling fragments whose fields conflict in the subgraph: `... on User { name }` and
`... on Admin { name }` agree in the supergraph (`String`) but not in the subgraph that resolves both
(`String!` for User, `String` for Admin), which rejects such a document ("fields conflict"). The
gateway aliases the conflicting field internally and answers under the client's keys."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'

PEOPLE: list[dict[str, Any]] = [
    {"__typename": "User", "id": "u1", "name": "Ada", "contact": {"email": "ada@example.com", "phone": "1"}},
    {"__typename": "Admin", "id": "a1", "name": None, "contact": {"email": "root@example.com", "phone": None}},
    {"__typename": "User", "id": "u2", "name": "Alan", "contact": {"email": "alan@example.com", "phone": "2"}},
]
TITLES = {"u1": "Countess", "u2": "Dr", "a1": None}


def accounts() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  people: [Person!]!
  staff: [Person!]!
}

interface Person {
  id: ID!
  name: String
}

type User implements Person @key(fields: "id") {
  id: ID!
  name: String! @shareable
  contact: Contact! @shareable
}

type Admin implements Person @key(fields: "id") {
  id: ID!
  name: String
  contact: Contact
}

type Contact @shareable {
  email: String!
  phone: String
}
"""
    )

    def admin_name(parent: dict[str, Any], _info: Any) -> str | None:
        if parent["id"] == "a2":
            raise ValueError("name withheld")
        return parent.get("name")

    staff = [PEOPLE[0], {"__typename": "Admin", "id": "a2", "name": "Eve", "contact": None}]
    return Subgraph(
        "accounts",
        sdl,
        resolvers={
            "Query.people": lambda _p, _i: PEOPLE,
            "Query.staff": lambda _p, _i: staff,
            "Admin.name": admin_name,
        },
    )


def profiles() -> Subgraph:
    sdl = (
        LINK
        + """
type Query {
  me: User
}

type User @key(fields: "id", resolvable: false) {
  id: ID!
  name: String @shareable
  contact: Contact @shareable
  title: String @shareable
}

type Contact @shareable {
  email: String!
  phone: String
}
"""
    )
    return Subgraph("profiles", sdl, resolvers={"Query.me": lambda _p, _i: {**PEOPLE[0], "title": TITLES["u1"]}})


def directory() -> Subgraph:
    sdl = (
        LINK
        + """
type User @key(fields: "id") {
  id: ID!
  title: String! @shareable
}

type Admin @key(fields: "id") {
  id: ID!
  title: String
}
"""
    )

    def entity(rep: dict[str, Any]) -> dict[str, Any]:
        return {"id": rep["id"], "title": TITLES[rep["id"]]}

    return Subgraph("directory", sdl, entities={"User": entity, "Admin": entity})


gw = scenario_gateway("fragmentconflicts", lambda: [accounts(), profiles(), directory()])


class TestConflictingSiblingFields:
    def test_scalar_fields_with_different_nullability(self, gw: GatewayClient) -> None:
        result = gw.query("{ people { id ... on User { name } ... on Admin { name } } }")
        assert result == {
            "data": {"people": [{"id": "u1", "name": "Ada"}, {"id": "a1", "name": None}, {"id": "u2", "name": "Alan"}]}
        }

    def test_client_aliases_are_kept(self, gw: GatewayClient) -> None:
        result = gw.query("{ people { ... on Admin { label: name } ... on User { label: name id } } }")
        assert result == {
            "data": {"people": [{"label": "Ada", "id": "u1"}, {"label": None}, {"label": "Alan", "id": "u2"}]}
        }

    def test_composite_fields_with_different_nullability(self, gw: GatewayClient) -> None:
        result = gw.query(
            "{ people { __typename ... on User { contact { email phone } } ... on Admin { contact { email } } } }"
        )
        assert result == {
            "data": {
                "people": [
                    {"__typename": "User", "contact": {"email": "ada@example.com", "phone": "1"}},
                    {"__typename": "Admin", "contact": {"email": "root@example.com"}},
                    {"__typename": "User", "contact": {"email": "alan@example.com", "phone": "2"}},
                ]
            }
        }

    def test_conflict_inside_an_entity_fetch(self, gw: GatewayClient) -> None:
        result = gw.query("{ people { id ... on User { title } ... on Admin { title } } }")
        assert result == {
            "data": {
                "people": [{"id": "u1", "title": "Countess"}, {"id": "a1", "title": None}, {"id": "u2", "title": "Dr"}]
            }
        }
        (call,) = gw.log.entity_calls("directory")
        assert sorted((r["__typename"], r["id"]) for r in call.representations) == [
            ("Admin", "a1"),
            ("User", "u1"),
            ("User", "u2"),
        ]

    def test_fields_of_the_same_type_are_not_aliased(self, gw: GatewayClient) -> None:
        result = gw.query("{ people { ... on User { id } ... on Admin { id } } }")
        assert result == {"data": {"people": [{"id": "u1"}, {"id": "a1"}, {"id": "u2"}]}}
        (call,) = gw.log.calls("accounts")
        assert ":" not in call.query

    def test_subgraph_error_paths_use_the_response_key(self, gw: GatewayClient) -> None:
        # data as @apollo/gateway 2.14.4; its error path keeps its internal alias (`name__alias_0`)
        result = gw.query("{ staff { id ... on User { name } ... on Admin { name } } }")
        assert result["data"] == {"staff": [{"id": "u1", "name": "Ada"}, {"id": "a2", "name": None}]}
        assert [error["path"] for error in result["errors"]] == [["staff", 1, "name"]]
        assert result["errors"][0]["message"] == "name withheld"
