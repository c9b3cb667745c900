"""The peer benchmark's subgraphs (SDL, answered by bench/gateway/subgraphs.js) and its workloads.

W1 is the gateway benchmark's query (bench/gateway/schema.py); W2 adds a third subgraph, 50 products
and an ``@requires``; W3 is one root field; W4 is a subscription fan-out on one order's status. The
expected answers are computed here, the way the Node fixtures compute theirs, so a gateway is checked
against the truth rather than against another gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.gateway.schema import EXPECTED as W1_EXPECTED
from bench.gateway.schema import PRODUCTS_SDL
from bench.gateway.schema import QUERY as W1_QUERY

REVIEWS_PER_PRODUCT = 3
USERS = 20
W2_PRODUCTS = 50
ORDER_ID = "o1"

_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [{names}])\n'


def _link(*names: str) -> str:
    return _LINK.format(names=", ".join(f'"@{n}"' for n in names))


REVIEWS_SDL = _link("key", "external", "requires") + """
type Review {
  id: ID!
  body: String!
  author: String!
  reviewer: User!
}

type User @key(fields: "id", resolvable: false) {
  id: ID!
}

type Product @key(fields: "upc") {
  upc: ID!
  price: Int! @external
  reviews: [Review!]!
  shippingEstimate: Int! @requires(fields: "price")
}
"""

USERS_SDL = _link("key") + """
type User @key(fields: "id") {
  id: ID!
  username: String!
}
"""

ORDERS_SDL = _link("key") + """
type Query {
  orderTracking: String
}

type Subscription {
  orderStatus(orderId: ID!): OrderStatus!
}

type OrderStatus {
  orderId: ID!
  seq: Int!
  status: String!
  emittedAt: Float!
  product: Product!
}

type Product @key(fields: "upc", resolvable: false) {
  upc: ID!
}
"""

SUBGRAPH_SDLS = {"products": PRODUCTS_SDL, "reviews": REVIEWS_SDL, "users": USERS_SDL, "orders": ORDERS_SDL}

W2_QUERY = (
    f"{{ topProducts(first: {W2_PRODUCTS}) {{ upc name shippingEstimate "
    "reviews { id body reviewer { username } } } }"
)
W3_QUERY = "{ topProducts(first: 5) { upc name price } }"
W4_QUERY = (
    f'subscription {{ orderStatus(orderId: "{ORDER_ID}") {{ orderId seq status emittedAt product {{ upc name }} }} }}'
)
# The fields of a W4 event that change from one event to the next; the rest is checked.
W4_VOLATILE = ("seq", "status", "emittedAt")


def _reviewer_id(upc: int, j: int) -> str:
    return f"u{(upc * REVIEWS_PER_PRODUCT + j) % USERS}"


def _w2_expected() -> dict[str, Any]:
    products = []
    for i in range(1, W2_PRODUCTS + 1):
        reviews = [
            {
                "id": f"{i}-{j}",
                "body": f"Review {j} of {i}",
                "reviewer": {"username": f"shopper{_reviewer_id(i, j)[1:]}"},
            }
            for j in range(1, REVIEWS_PER_PRODUCT + 1)
        ]
        products.append({"upc": str(i), "name": f"Product {i}", "shippingEstimate": 10 * i, "reviews": reviews})
    return {"data": {"topProducts": products}}


def _w3_expected() -> dict[str, Any]:
    products = [{"upc": str(i), "name": f"Product {i}", "price": 100 * i} for i in range(1, 6)]
    return {"data": {"topProducts": products}}


def w4_stable(event: Any) -> Any:
    """A W4 event without the fields that change from one event to the next."""
    try:
        status = dict(event["data"]["orderStatus"])
    except (KeyError, TypeError):
        return event
    for name in W4_VOLATILE:
        status.pop(name, None)
    return {**event, "data": {"orderStatus": status}}


W4_STABLE_EXPECTED = {"data": {"orderStatus": {"orderId": ORDER_ID, "product": {"upc": "1", "name": "Product 1"}}}}


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    query: str
    expected: dict[str, Any]
    subscription: bool = False


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("W1", "root fetch + one batched _entities (2 subgraphs)", W1_QUERY, W1_EXPECTED),
        Workload("W2", f"3 subgraphs, {W2_PRODUCTS} products -> reviews -> users, one @requires",
                 W2_QUERY, _w2_expected()),
        Workload("W3", "one root field", W3_QUERY, _w3_expected()),
        Workload("W4", "subscription fan-out on one order's status", W4_QUERY, W4_STABLE_EXPECTED,
                 subscription=True),
    )
}
