"""Malformed entity representations sent straight to each service's `_entities` get
REPRESENTATION_INVALID naming the field, at their own index, never a masked internal error."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from subgraphs.kit.settings import Settings
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi
from tests.support.tokens import bearer

ENTITY_TYPES = {
    "products": ["Product", "User"],
    "orders": ["Product", "Order", "User"],
    "payments": ["Payment", "Order", "User"],
    "notifications": ["Notification", "Order", "User"],
}
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"


def bad_keys(typename: str) -> list[tuple[Any, str | None]]:
    """(representation, the field the error must name) for every entity type."""
    return [
        ({"__typename": typename}, "id"),
        ({"__typename": typename, "id": None}, "id"),
        ({"__typename": typename, "id": {"$gt": ""}}, "id"),
        ({"__typename": typename, "id": ["a"]}, "id"),
        ({"__typename": typename, "id": True}, "id"),
        ({"__typename": typename, "id": ""}, "id"),
        ({"__typename": typename, "id": "x" * 600}, "id"),
    ]


ENVELOPES: list[tuple[Any, str | None]] = [
    ({"id": "1"}, "__typename"),
    ({"__typename": 7, "id": "1"}, "__typename"),
    ({"__typename": "NoSuchType", "id": "1"}, "__typename"),
    ({"__typename": "Query", "id": "1"}, "__typename"),
    ("just a string", None),
    ([{"__typename": "User", "id": "1"}], None),
]


@asynccontextmanager
async def service(name: str, redis_url: str, mongo: TestMongo) -> AsyncIterator[httpx.AsyncClient]:
    env = {"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", **mongo.env(name)}
    app = importlib.import_module(f"subgraphs.{name}.app").create_app(Settings.from_env(name, env=env))
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=15) as http:
        yield http


async def entities(http: httpx.AsyncClient, representations: list[Any]) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": ENTITIES, "variables": {"r": representations}},
                               headers=bearer("alice", "payments:admin", "orders:admin", "notifications:admin"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_invalid(body: dict[str, Any], index: int, field: str | None, typename: str | None = None) -> None:
    [error] = [e for e in body["errors"] if e["path"] == ["_entities", index]]
    assert error["extensions"]["code"] == "REPRESENTATION_INVALID", error
    assert error["extensions"].get("field") == field, error
    if typename is not None:
        assert error["extensions"]["typename"] == typename, error
    assert "Internal server error" not in error["message"]


@pytest.mark.parametrize("name", list(ENTITY_TYPES))
async def test_malformed_representations_are_named_per_service(name: str, redis_url: str, mongo: TestMongo) -> None:
    cases = ENVELOPES + [case for typename in ENTITY_TYPES[name] for case in bad_keys(typename)]
    async with service(name, redis_url, mongo) as http:
        body = await entities(http, [representation for representation, _ in cases])
        assert body["data"] == {"_entities": [None] * len(cases)}, body
        assert len(body["errors"]) == len(cases)
        for index, (representation, field) in enumerate(cases):
            typename = representation.get("__typename") if field == "id" else None
            assert_invalid(body, index, field, typename)

        # One bad representation does not fail its neighbours: a well-formed one still resolves.
        mixed = await entities(http, [{"__typename": "User", "id": {}}, {"__typename": "User", "id": "alice"}])
        assert mixed["data"]["_entities"] == [None, {"__typename": "User"}]
        assert_invalid(mixed, 0, "id", "User")


@pytest.mark.parametrize(("total", "field"), [
    ({"amount": "abc", "currency": "EUR"}, "total.amount"),
    ({"amount": 12.5, "currency": "EUR"}, "total.amount"),
    ({"amount": True, "currency": "EUR"}, "total.amount"),
    ({"amount": 2**60, "currency": "EUR"}, "total.amount"),
    ({"currency": "EUR"}, "total.amount"),
    ({"amount": 100, "currency": "eu"}, "total.currency"),
    ({"amount": 100, "currency": 978}, "total.currency"),
    ({"amount": 100}, "total.currency"),
    ("1000 EUR", "total"),
    ([1000, "EUR"], "total"),
])
async def test_payments_checks_the_required_order_total(
    total: Any, field: str, redis_url: str, mongo: TestMongo
) -> None:
    """The issue: a non-numeric total, @required by Order.amountDue, was a masked internal error."""
    query = ("query($r: [_Any!]!) { _entities(representations: $r) "
             "{ ... on Order { id amountDue { amount currency } } } }")
    good = {"__typename": "Order", "id": "o-good", "total": {"amount": 1000, "currency": "EUR"}}
    async with service("payments", redis_url, mongo) as http:
        response = await http.post("/graphql", headers=bearer("alice"), json={
            "query": query, "variables": {"r": [{"__typename": "Order", "id": "o1", "total": total}, good]}})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["_entities"] == [None, {"id": "o-good", "amountDue": {"amount": 1000, "currency": "EUR"}}]
    assert_invalid(body, 0, field, "Order")
