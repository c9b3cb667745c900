"""Abstract types over HTTP: interface explosion, unions, @interfaceObject, compound/non-resolvable keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from . import media
from .harness import RunningServer, gateway_app, serve


@pytest.fixture(scope="module")
def logs() -> dict[str, list[dict[str, Any]]]:
    return {"catalog": [], "ratings": [], "store": [], "people": []}


@pytest.fixture(scope="module")
def client(logs: dict[str, list[dict[str, Any]]]) -> Iterator[httpx.Client]:
    factories = {"catalog": media.catalog, "ratings": media.ratings, "store": media.store, "people": media.people}
    servers = {name: RunningServer(factory(logs[name])).start() for name, factory in factories.items()}
    try:
        urls = {name: server.url for name, server in servers.items()}
        with serve(gateway_app(media.SUPERGRAPH, urls)) as gw, httpx.Client(base_url=gw.url, timeout=10) as c:
            yield c
    finally:
        for server in servers.values():
            server.stop()


def data(client: httpx.Client, query: str) -> Any:
    body = client.post("/graphql", json={"query": query}).json()
    assert "errors" not in body, body
    return body["data"]


def test_interface_field_with_type_conditions_and_interface_object(client: httpx.Client) -> None:
    result = data(
        client,
        "{ media { __typename id title ... on Book { author price } ... on Movie { director } rating } }",
    )
    assert result == {
        "media": [
            {"__typename": "Book", "id": "b1", "title": "Dune", "author": "Herbert", "price": 10, "rating": 5},
            {"__typename": "Book", "id": "b2", "title": "Emma", "author": "Austen", "price": 7, "rating": 3},
            {"__typename": "Movie", "id": "m1", "title": "Alien", "director": "Scott", "rating": 4},
        ]
    }


def test_union_with_compound_key_and_non_resolvable_stub(client: httpx.Client) -> None:
    result = data(
        client,
        "{ search { ... on Book { title seller { name region } } ... on Movie { title rating } } }",
    )
    assert result == {
        "search": [
            {"title": "Dune", "seller": {"name": "Euro Books", "region": "eu"}},
            {"title": "Emma", "seller": {"name": "US Books", "region": "us"}},
            {"title": "Alien", "rating": 4},
        ]
    }


def test_interface_object_root_resolves_concrete_types(
    client: httpx.Client, logs: dict[str, list[dict[str, Any]]]
) -> None:
    result = data(client, "{ topRated { id rating title __typename ... on Book { author } } }")
    assert result == {
        "topRated": [
            {"id": "b1", "rating": 5, "title": "Dune", "__typename": "Book", "author": "Herbert"},
            {"id": "m1", "rating": 4, "title": "Alien", "__typename": "Movie"},
            {"id": "b2", "rating": 3, "title": "Emma", "__typename": "Book", "author": "Austen"},
        ]
    }
    reps = logs["catalog"][-1]["payload"]["variables"]["representations"]
    assert reps == [
        {"__typename": "Media", "id": "b1"},
        {"__typename": "Media", "id": "m1"},
        {"__typename": "Media", "id": "b2"},
    ]


def test_interface_object_without_typename_needs_no_hop(
    client: httpx.Client, logs: dict[str, list[dict[str, Any]]]
) -> None:
    before = len(logs["catalog"])
    assert data(client, "{ topRated { id rating } }") == {
        "topRated": [{"id": "b1", "rating": 5}, {"id": "m1", "rating": 4}, {"id": "b2", "rating": 3}]
    }
    assert len(logs["catalog"]) == before


def test_shareable_root_field_picks_subgraph_that_saves_a_hop(
    client: httpx.Client, logs: dict[str, list[dict[str, Any]]]
) -> None:
    before = {k: len(v) for k, v in logs.items()}
    result = data(client, '{ book(id: "b2") { price seller { name } } }')
    assert result == {"book": {"price": 7, "seller": {"name": "US Books"}}}
    assert len(logs["catalog"]) == before["catalog"]
    assert len(logs["store"]) == before["store"] + 1
    assert len(logs["people"]) == before["people"] + 1


def test_entities_are_deduplicated(client: httpx.Client, logs: dict[str, list[dict[str, Any]]]) -> None:
    data(client, "{ a: media { id rating } b: search { ... on Book { id rating } } }")
    reps = logs["ratings"][-1]["payload"]["variables"]["representations"]
    # media and search are planned as separate groups, but each batch is deduplicated
    assert len(reps) == len({r["id"] for r in reps})
