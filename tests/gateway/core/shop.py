"""The classic four-subgraph shop (accounts, products, inventory, reviews) as graphql-core fixtures,
matching fixtures/basic.graphql."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .harness import subgraph_app

SUPERGRAPH = (Path(__file__).parent / "fixtures" / "basic.graphql").read_text()

USERS = {
    "1": {"id": "1", "name": "Ada Lovelace", "username": "@ada", "internal": "x"},
    "2": {"id": "2", "name": "Alan Turing", "username": "@alan", "internal": "y"},
}
PRODUCTS = {
    "1": {"upc": "1", "name": "Table", "price": 899, "weight": 100},
    "2": {"upc": "2", "name": "Couch", "price": 1299, "weight": 1000},
    "3": {"upc": "3", "name": "Chair", "price": 54, "weight": 50},
}
IN_STOCK = {"1": True, "2": False, "3": True}
REVIEWS = [
    {"id": "1", "author": "1", "product": "1", "body": "Love it!"},
    {"id": "2", "author": "1", "product": "2", "body": "Too expensive."},
    {"id": "3", "author": "2", "product": "3", "body": "Could be better."},
    {"id": "4", "author": "2", "product": "1", "body": "Prefer something else."},
]


def _review(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "Review",
        "id": r["id"],
        "body": r["body"],
        "author": {"__typename": "User", "id": r["author"], "username": USERS[r["author"]]["username"]},
        "product": {"__typename": "Product", "upc": r["product"]},
    }


def accounts(log: list[dict[str, Any]] | None = None) -> Any:
    return subgraph_app(
        """
        type Query { me: User  user(id: ID!): User }
        type Mutation { login(username: String!): User }
        type User { id: ID! name: String username: String internal: String }
        """,
        resolvers={
            "Query.me": lambda _p: USERS["1"],
            "Query.user": lambda _p, id: USERS.get(id),
            "Mutation.login": lambda _p, username: next(
                (u for u in USERS.values() if u["username"] == "@" + username), None
            ),
        },
        entities={"User": lambda rep: USERS.get(rep["id"])},
        log=log,
    )


def products(log: list[dict[str, Any]] | None = None) -> Any:
    return subgraph_app(
        """
        type Query { topProducts(first: Int = 5): [Product]  product(upc: String!): Product }
        type Product { upc: String! name: String price: Int weight: Int }
        """,
        resolvers={
            "Query.topProducts": lambda _p, first=5: list(PRODUCTS.values())[:first],
            "Query.product": lambda _p, upc: PRODUCTS.get(upc),
        },
        entities={"Product": lambda rep: PRODUCTS.get(rep["upc"])},
        log=log,
    )


def _shipping(rep: dict[str, Any]) -> int | None:
    if rep.get("price") is None or rep.get("weight") is None:
        return None
    return 0 if rep["price"] > 1000 else rep["weight"] // 2


def inventory(log: list[dict[str, Any]] | None = None) -> Any:
    return subgraph_app(
        """
        type Query { _dummy: Int }
        type Product { upc: String! price: Int weight: Int inStock: Boolean shippingEstimate: Int }
        """,
        entities={
            "Product": lambda rep: {
                "upc": rep["upc"],
                "inStock": IN_STOCK.get(rep["upc"]),
                "shippingEstimate": _shipping(rep),
            }
        },
        log=log,
    )


def reviews(log: list[dict[str, Any]] | None = None) -> Any:
    return subgraph_app(
        """
        type Query { _dummy: Int }
        type Mutation { addReview(upc: String!, body: String!): Review }
        type Review { id: ID! body: String! author: User product: Product }
        type User { id: ID! username: String reviews: [Review] }
        type Product { upc: String! reviews: [Review] }
        """,
        resolvers={
            "Mutation.addReview": lambda _p, upc, body: _add_review(upc, body),
        },
        entities={
            "User": lambda rep: {
                "id": rep["id"],
                "reviews": [_review(r) for r in REVIEWS if r["author"] == rep["id"]],
            },
            "Product": lambda rep: {
                "upc": rep["upc"],
                "reviews": [_review(r) for r in REVIEWS if r["product"] == rep["upc"]],
            },
            "Review": lambda rep: next((_review(r) for r in REVIEWS if r["id"] == rep["id"]), None),
        },
        log=log,
    )


def _add_review(upc: str, body: str) -> dict[str, Any]:
    review = {"id": str(100 + len(REVIEWS)), "author": "1", "product": upc, "body": body}
    return _review(review)
