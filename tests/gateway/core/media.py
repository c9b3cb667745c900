"""Interfaces, unions, @interfaceObject, compound keys and resolvable:false keys (fixtures/media.graphql)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import subgraph_app

SUPERGRAPH = (Path(__file__).parent / "fixtures" / "media.graphql").read_text()

MEDIA: dict[str, dict[str, Any]] = {
    "b1": {"__typename": "Book", "id": "b1", "title": "Dune", "author": "Herbert"},
    "b2": {"__typename": "Book", "id": "b2", "title": "Emma", "author": "Austen"},
    "m1": {"__typename": "Movie", "id": "m1", "title": "Alien", "director": "Scott"},
}
RATINGS = {"b1": 5, "b2": 3, "m1": 4}
STORE = {
    "b1": {"__typename": "Book", "id": "b1", "price": 10, "seller": {"region": "eu", "id": "s1"}},
    "b2": {"__typename": "Book", "id": "b2", "price": 7, "seller": {"region": "us", "id": "s1"}},
}
SELLERS = {("eu", "s1"): "Euro Books", ("us", "s1"): "US Books"}


def catalog(log: list[dict[str, Any]] | None = None) -> Any:
    return subgraph_app(
        """
        interface Media { id: ID! title: String }
        type Book implements Media { id: ID! title: String author: String }
        type Movie implements Media { id: ID! title: String director: String }
        union SearchResult = Book | Movie
        type Query { media: [Media] search(q: String): [SearchResult] book(id: ID!): Book }
        """,
        resolvers={
            "Query.media": lambda _p: list(MEDIA.values()),
            "Query.search": lambda _p, q=None: [m for m in MEDIA.values() if not q or q in m["title"]],
            "Query.book": lambda _p, id: MEDIA.get(id),
        },
        entities={
            "Book": lambda rep: MEDIA.get(rep["id"]),
            "Movie": lambda rep: MEDIA.get(rep["id"]),
            "Media": lambda rep: MEDIA.get(rep["id"]),
        },
        log=log,
    )


def ratings(log: list[dict[str, Any]] | None = None) -> Any:
    return subgraph_app(
        """
        type Media { id: ID! rating: Int }
        type Query { topRated: [Media] }
        """,
        resolvers={
            "Query.topRated": lambda _p: [
                {"__typename": "Media", "id": i, "rating": r} for i, r in sorted(RATINGS.items(), key=lambda kv: -kv[1])
            ]
        },
        entities={"Media": lambda rep: {"id": rep["id"], "rating": RATINGS.get(rep["id"])}},
        log=log,
    )


def store(log: list[dict[str, Any]] | None = None) -> Any:
    return subgraph_app(
        """
        type Book { id: ID! price: Int seller: Seller }
        type Seller { region: String! id: ID! }
        type Query { book(id: ID!): Book }
        """,
        resolvers={"Query.book": lambda _p, id: STORE.get(id)},
        entities={"Book": lambda rep: STORE.get(rep["id"])},
        log=log,
    )


def people(log: list[dict[str, Any]] | None = None) -> Any:
    return subgraph_app(
        """
        type Seller { region: String! id: ID! name: String }
        type Query { _dummy: Int }
        """,
        entities={
            "Seller": lambda rep: {
                "region": rep["region"],
                "id": rep["id"],
                "name": SELLERS.get((rep["region"], rep["id"])),
            }
        },
        log=log,
    )
