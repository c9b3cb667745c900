"""Over-real-HTTP tests: four graphql-core subgraphs + the gateway, all on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.tokens import bearer

from . import shop
from .harness import RunningServer, gateway_app, serve


@pytest.fixture(scope="module")
def logs() -> dict[str, list[dict[str, Any]]]:
    return {"accounts": [], "products": [], "inventory": [], "reviews": []}


@pytest.fixture(scope="module")
def gateway(logs: dict[str, list[dict[str, Any]]]) -> Iterator[RunningServer]:
    factories = {
        "accounts": shop.accounts,
        "products": shop.products,
        "inventory": shop.inventory,
        "reviews": shop.reviews,
    }
    servers = {name: RunningServer(factory(logs[name])).start() for name, factory in factories.items()}
    try:
        urls = {name: server.url for name, server in servers.items()}
        with serve(gateway_app(shop.SUPERGRAPH, urls, forward_headers=("x-tenant",))) as gw:
            yield gw
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture()
def client(gateway: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=10) as c:
        yield c


def post(client: httpx.Client, query: str, variables: Any = None, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    body.update(extra.pop("body", {}))
    return client.post("/graphql", json=body, **extra)


def test_root_and_entity_fetch(client: httpx.Client) -> None:
    r = post(client, "{ topProducts(first: 2) { upc name inStock reviews { body author { name } } } }")
    assert r.status_code == 200
    assert r.json() == {
        "data": {
            "topProducts": [
                {
                    "upc": "1",
                    "name": "Table",
                    "inStock": True,
                    "reviews": [
                        {"body": "Love it!", "author": {"name": "Ada Lovelace"}},
                        {"body": "Prefer something else.", "author": {"name": "Alan Turing"}},
                    ],
                },
                {
                    "upc": "2",
                    "name": "Couch",
                    "inStock": False,
                    "reviews": [{"body": "Too expensive.", "author": {"name": "Ada Lovelace"}}],
                },
            ]
        }
    }


def test_requires_and_provides(client: httpx.Client, logs: dict[str, list[dict[str, Any]]]) -> None:
    r = post(client, "{ topProducts { upc shippingEstimate } me { reviews { author { username } } } }")
    assert r.json() == {
        "data": {
            "topProducts": [
                {"upc": "1", "shippingEstimate": 50},
                {"upc": "2", "shippingEstimate": 0},
                {"upc": "3", "shippingEstimate": 25},
            ],
            "me": {"reviews": [{"author": {"username": "@ada"}}, {"author": {"username": "@ada"}}]},
        }
    }
    # the representation sent to inventory carries the required price and weight
    reps = [
        entry["payload"]["variables"]["representations"]
        for entry in logs["inventory"]
        if "representations" in entry["payload"].get("variables", {})
    ]
    assert {"__typename": "Product", "upc": "2", "price": 1299, "weight": 1000} in reps[-1]
    # @provides: username came with the review from reviews, no accounts entity fetch for it
    last_accounts = logs["accounts"][-1]["payload"]["query"]
    assert "_entities" not in last_accounts


def test_aliases_fragments_typename_and_variables(client: httpx.Client) -> None:
    query = """
    query Q($id: ID!, $withReviews: Boolean = false, $skipName: Boolean!) {
      a: user(id: $id) { ...U }
      b: user(id: "2") { __typename id n: name @skip(if: $skipName) }
      __typename
    }
    fragment U on User { uid: id name reviews @include(if: $withReviews) { body } ... on User { username } }
    """
    r = post(client, query, {"id": "1", "skipName": True})
    assert r.json() == {
        "data": {
            "a": {"uid": "1", "name": "Ada Lovelace", "username": "@ada"},
            "b": {"__typename": "User", "id": "2"},
            "__typename": "Query",
        }
    }
    r = post(client, query, {"id": "1", "skipName": False, "withReviews": True})
    data = r.json()["data"]
    assert data["a"]["reviews"] == [{"body": "Love it!"}, {"body": "Too expensive."}]
    assert data["b"] == {"__typename": "User", "id": "2", "n": "Alan Turing"}


def test_same_field_twice_with_different_arguments(client: httpx.Client) -> None:
    r = post(client, '{ p1: product(upc: "1") { name } p3: product(upc: "3") { name inStock } }')
    assert r.json() == {"data": {"p1": {"name": "Table"}, "p3": {"name": "Chair", "inStock": True}}}


def test_mutations_run_in_order(client: httpx.Client, logs: dict[str, list[dict[str, Any]]]) -> None:
    before = {name: len(entries) for name, entries in logs.items()}
    r = post(
        client,
        'mutation { a: login(username: "ada") { id } r: addReview(upc: "1", body: "ok") { body } '
        'b: login(username: "alan") { name } }',
    )
    assert r.json() == {"data": {"a": {"id": "1"}, "r": {"body": "ok"}, "b": {"name": "Alan Turing"}}}
    assert len(logs["accounts"]) - before["accounts"] == 2
    assert len(logs["reviews"]) - before["reviews"] == 1


def test_headers_forwarded(client: httpx.Client, logs: dict[str, list[dict[str, Any]]]) -> None:
    # the gateway verifies the token before forwarding it (a made-up one is a 401: tests/security)
    auth = bearer("ada")
    post(client, "{ me { id } }", headers={**auth, "X-Tenant": "acme", "X-Other": "no"})
    headers = logs["accounts"][-1]["headers"]
    assert headers["authorization"] == auth["Authorization"]
    assert headers["x-tenant"] == "acme"
    assert "x-other" not in headers


def test_query_plan_extension(client: httpx.Client) -> None:
    r = post(client, "{ me { name reviews { body } } }", headers={"X-Query-Plan": "true"})
    body = r.json()
    plan = body["extensions"]["queryPlan"]
    assert plan["json"]["kind"] == "QueryPlan"
    assert 'Fetch(service: "accounts")' in plan["text"]
    assert 'Flatten(path: "me")' in plan["text"]
    assert body["data"]["me"]["name"] == "Ada Lovelace"


def test_introspection_through_gateway(client: httpx.Client) -> None:
    r = post(client, '{ __schema { queryType { name } } __type(name: "User") { fields { name } } me { id } }')
    data = r.json()["data"]
    assert data["__schema"] == {"queryType": {"name": "Query"}}
    names = [f["name"] for f in data["__type"]["fields"]]
    assert names == ["id", "name", "username", "reviews"]  # no @inaccessible field
    assert data["me"] == {"id": "1"}
    r = post(client, "{ ...Q } fragment Q on Query { __schema { mutationType { name } } }")
    assert r.json() == {"data": {"__schema": {"mutationType": {"name": "Mutation"}}}}
