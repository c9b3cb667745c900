"""GraphQL documents and helpers shared by the orders tests."""

from __future__ import annotations

from typing import Any

ORDER_FIELDS = """
id number status statusEventId paymentProvider paymentDueAt createdAt updatedAt
customer { id }
subtotal { amount currency } total { amount currency }
lines { variantId sku productName quantity unitPrice { amount currency } lineTotal { amount currency }
        product { id name } }
timeline { eventId at from to reason }
"""

PLACE_ORDER = f"""
mutation Place($input: PlaceOrderInput!, $key: String!) {{
  placeOrder(input: $input, idempotencyKey: $key) {{
    __typename
    ... on OrderPlaced {{ replayed order {{ {ORDER_FIELDS} }} }}
    ... on InsufficientStock {{ sku requested available }}
    ... on UnknownVariant {{ sku }}
    ... on EmptyOrder {{ message }}
    ... on IdempotencyKeyReused {{ idempotencyKey message }}
  }}
}}
"""

ORDER = f"query One($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"

TRANSITION_RESULT = """
    __typename
    ... on OrderTransitioned { order { id status timeline { eventId from to reason } } }
    ... on InvalidStatusTransition { from to message order { id status } }
"""
CANCEL = (f"mutation Cancel($id: ID!, $reason: String) "
          f"{{ cancelOrder(id: $id, reason: $reason) {{ {TRANSITION_RESULT} }} }}")
FULFILL = f"mutation Fulfill($id: ID!) {{ fulfillOrder(id: $id) {{ {TRANSITION_RESULT} }} }}"

MY_ORDERS = """
query Mine($first: Int!, $after: String, $status: OrderStatus, $me: ID = "alice") {
  me: _entities(representations: [{__typename: "User", id: $me}]) { ... on User {
    id orders(first: $first, after: $after, status: $status) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id number status } } } } }
}
"""
ALL_ORDERS = """
query All($first: Int!, $after: String, $status: OrderStatus, $customerId: ID) {
  orders(first: $first, after: $after, status: $status, customerId: $customerId) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id number status customer { id } } } }
}
"""

SUBSCRIBE = """
subscription Live($orderId: ID!, $after: ID) {
  orderStatusChanged(orderId: $orderId, after: $after) {
    eventId orderId status previousStatus reason at order { id status }
  }
}
"""


def order_input(*lines: tuple[str, int], provider: str = "CARD", token: str = "pm_card_visa") -> dict[str, Any]:
    return {"lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
            "payment": {"provider": provider, "token": token}}


def cart_input(provider: str = "WALLET", token: str = "wallet-tok-1") -> dict[str, Any]:
    return {"fromCart": True, "payment": {"provider": provider, "token": token}}


def error_codes(body: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
