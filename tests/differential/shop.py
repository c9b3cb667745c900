"""Talking to the shop through one gateway: queries, polling with a deadline, a subscription's
first event, and the journey's mutations done step by step so two gateways' runs can be compared."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

from scripts.journey import ADD_TO_CART, CARD_DECLINED, CARD_OK, NOTIFICATIONS, PLACE_ORDER, STOCK, WATCH
from subgraphs.kit.auth import issue_token
from subgraphs.kit.settings import DEV_JWT_SECRET

from .compare import Canon, Outcome

POLL_TIMEOUT = 30.0
SUBSCRIPTION_STEP = "subscription first event"

ORDER = """
query JourneyOrder($id: ID!) {
  order(id: $id) {
    number status total { amount currency } amountDue { amount currency }
    lines { sku quantity unitPrice { amount } lineTotal { amount } product { name } }
    payments { id status amount { amount currency } captured { amount } failure { errorCode final } }
    timeline { from to }
  }
}"""
UPDATE_LINE = """
mutation Update($sku: String!, $quantity: Int!) {
  updateCartLine(sku: $sku, quantity: $quantity) {
    __typename ... on Cart { totalQuantity lines { sku quantity } subtotal { amount currency } }
  }
}"""
REMOVE_LINE = "mutation Remove($sku: String!) { removeCartLine(sku: $sku) { totalQuantity lines { sku } } }"
CLEAR_CART = "mutation Clear { clearCart { totalQuantity lines { sku } } }"
PREFERENCES = """
mutation Preferences($input: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $input) {
    emailFromOrder phone hasWebhookSecret events { eventType channels deliveringChannels isDefault }
  }
}"""
TRANSITION = """
  __typename
  ... on OrderTransitioned { order { status timeline { from to } } }
  ... on InvalidStatusTransition { from to order { status } }
"""
CANCEL = f"mutation Cancel($id: ID!) {{ cancelOrder(id: $id, reason: \"changed my mind\") {{ {TRANSITION} }} }}"
FULFILL = f"mutation Fulfill($id: ID!) {{ fulfillOrder(id: $id) {{ {TRANSITION} }} }}"
RETRY = "mutation Retry($id: ID!) { retryPayment(orderId: $id) { __typename } }"
REFUND = "mutation Refund($id: ID!) { refundPayment(paymentId: $id) { __typename } }"
ADMIN_SCOPES = ("orders:admin", "payments:admin", "notifications:admin")


def shopper_token(user_id: str) -> str:
    return issue_token(user_id, (), DEV_JWT_SECRET, email=f"{user_id}@example.com")


@dataclass
class ShopClient:
    """One caller of one gateway; ``ws_url`` is where it takes subscriptions (None: it does not)."""

    url: str
    token: str | None = None
    ws_url: str | None = None
    # Also send the token as a header of the WebSocket handshake (Grafbase applies its header rules
    # to the handshake's headers; the connection_init payload only goes on to the subscription's subgraph).
    ws_handshake_auth: bool = False
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.http = httpx.Client(timeout=30.0, headers=headers)

    def close(self) -> None:
        self.http.close()

    def post(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(self.url, json={"query": document, "variables": dict(variables or {})})
        try:
            body = response.json()
        except ValueError:
            raise AssertionError(f"{self.url} answered HTTP {response.status_code}: {response.text[:300]}") from None
        if not isinstance(body, dict) or not ("data" in body or "errors" in body):
            raise AssertionError(f"{self.url} answered HTTP {response.status_code} without a GraphQL body: {body}")
        return body

    def outcome(self, document: str, variables: Mapping[str, Any] | None = None) -> Outcome:
        return Outcome.of(self.post(document, variables))

    def data(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = self.post(document, variables)
        if body.get("errors"):
            raise AssertionError(f"{document.split('(')[0].strip()}: {body['errors']}")
        return dict(body["data"])

    def eventually(self, document: str, variables: Mapping[str, Any], done: Callable[[dict[str, Any]], bool],
                   what: str) -> dict[str, Any]:
        """Repeat a query until ``done(data)``; fail after POLL_TIMEOUT seconds."""
        deadline = time.monotonic() + POLL_TIMEOUT
        while True:
            data = self.data(document, variables)
            if done(data):
                return data
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {POLL_TIMEOUT:.0f}s through {self.url} waiting for {what}: "
                                     f"{json.dumps(data)[:500]}")
            time.sleep(0.1)

    def first_event(self, document: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The first payload of a subscription (graphql-transport-ws), token in connection_init."""
        assert self.ws_url is not None
        handshake = {"Authorization": f"Bearer {self.token}"} if self.ws_handshake_auth else None

        async def receive() -> dict[str, Any]:
            async with websockets.connect(self.ws_url or "", subprotocols=[websockets.Subprotocol(
                    "graphql-transport-ws")], open_timeout=10, additional_headers=handshake) as socket:
                await socket.send(json.dumps({"type": "connection_init",
                                              "payload": {"Authorization": f"Bearer {self.token}"}}))
                while json.loads(await socket.recv())["type"] != "connection_ack":
                    pass
                await socket.send(json.dumps({"id": "1", "type": "subscribe",
                                              "payload": {"query": document, "variables": dict(variables)}}))
                while True:
                    message = json.loads(await socket.recv())
                    if message["type"] in ("next", "error"):
                        payload = message["payload"]
                        return payload if isinstance(payload, dict) else {"errors": payload}

        return asyncio.run(asyncio.wait_for(receive(), POLL_TIMEOUT))


@dataclass
class JourneyRun:
    """The canonical answers of one run of :func:`shop_journey`, step by step."""

    steps: list[tuple[str, Outcome]] = field(default_factory=list)
    canon: Canon = field(default_factory=Canon)

    def record(self, step: str, outcome: Outcome) -> None:
        self.steps.append((step, self.canon.outcome(outcome)))

    def record_data(self, step: str, data: Any) -> None:
        self.record(step, Outcome(data, frozenset()))


def shop_journey(shop: ShopClient, anonymous: ShopClient, skus: tuple[str, str],
                 examples: Mapping[str, str]) -> JourneyRun:
    """The journey of scripts/journey.py with the explorer's cart and order examples, as one shopper:
    cart edits, an order from the cart paid by a good card, an order of explicit lines declined and
    its stock released, an idempotent replay, the notifications; live status as a first event where
    the gateway takes subscriptions, else by polling."""
    run = JourneyRun()
    paid_sku, declined_sku = skus
    run.record("addToCart anonymous", anonymous.outcome(ADD_TO_CART, {"sku": paid_sku, "quantity": 1}))
    run.record("addToCart unknown", shop.outcome(ADD_TO_CART, {"sku": "NO-SUCH-SKU", "quantity": 1}))
    run.record("addToCart", shop.outcome(ADD_TO_CART, {"sku": declined_sku, "quantity": 1}))
    run.record("addToCart 2", shop.outcome(ADD_TO_CART, {"sku": paid_sku, "quantity": 1}))
    run.record("updateCartLine", shop.outcome(UPDATE_LINE, {"sku": paid_sku, "quantity": 2}))
    run.record("updateCartLine missing", shop.outcome(UPDATE_LINE, {"sku": "NO-SUCH-SKU", "quantity": 2}))
    run.record("removeCartLine", shop.outcome(REMOVE_LINE, {"sku": declined_sku}))
    run.record("my cart", shop.outcome(examples["MyCart"]))

    placed = shop.post(PLACE_ORDER, {"input": {"fromCart": True, "payment": {"provider": "CARD", "token": CARD_OK}},
                                     "key": uuid.uuid4().hex})
    run.record("placeOrder from cart", Outcome.of(placed))
    paid_id = placed["data"]["placeOrder"]["order"]["id"]
    run.record("cart after order", shop.outcome(examples["MyCart"]))
    paid = shop.eventually(ORDER, {"id": paid_id}, lambda d: d["order"]["status"] == "PAID", "the order to be paid")
    run.record_data("order paid", paid)
    if shop.ws_url is not None:
        event = shop.first_event(WATCH, {"orderId": paid_id})
        run.record(SUBSCRIPTION_STEP, Outcome.of(event))

    before = shop.data(STOCK, {"sku": declined_sku})["variant"]["stock"]
    order_input = {"lines": [{"sku": declined_sku, "quantity": 2}],
                   "payment": {"provider": "CARD", "token": CARD_DECLINED}}
    key = uuid.uuid4().hex
    declined = shop.post(examples["PlaceOrder"], {"input": order_input, "key": key})
    run.record("placeOrder declined", Outcome.of(declined))
    declined_id = declined["data"]["placeOrder"]["order"]["id"]
    run.record("placeOrder replayed", shop.outcome(examples["PlaceOrder"], {"input": order_input, "key": key}))
    cancelled = shop.eventually(ORDER, {"id": declined_id}, lambda d: d["order"]["status"] == "CANCELLED",
                                "the declined order to be cancelled")
    run.record_data("order cancelled", cancelled)
    shop.eventually(STOCK, {"sku": declined_sku}, lambda d: d["variant"]["stock"] == before,
                    "the declined order's stock to be released")
    run.record("clearCart", shop.outcome(CLEAR_CART))

    def delivered(*expected: tuple[str, str]) -> Callable[[dict[str, Any]], bool]:
        def done(data: dict[str, Any]) -> bool:
            notes = [edge["node"] for edge in data["me"]["notifications"]["edges"]]
            sent = {(n["eventType"], n["order"]["id"]) for n in notes
                    if n["channel"] == "EMAIL" and n["status"] == "SENT"}
            return set(expected) <= sent and all(n["status"] != "QUEUED" for n in notes)

        return done

    def record_notifications(step: str, *expected: tuple[str, str]) -> None:
        notes = shop.eventually(NOTIFICATIONS, {}, delivered(*expected), step)["me"]["notifications"]["edges"]
        run.record_data(step, sorted(
            (edge["node"]["eventType"], edge["node"]["channel"], edge["node"]["status"]) for edge in notes))

    record_notifications("notifications", ("ORDER_PAID", paid_id), ("ORDER_CANCELLED", declined_id))

    # The other mutations a shopper (or an admin) has, each with a deterministic answer.
    run.record("updateNotificationPreferences", shop.outcome(PREFERENCES, {"input": {
        "phone": "+4915112345678", "events": [{"eventType": "ORDER_PAID", "channels": ["EMAIL", "SMS"]}]}}))
    run.record("cancelOrder paid", shop.outcome(CANCEL, {"id": paid_id}))
    run.record("fulfillOrder as customer", shop.outcome(FULFILL, {"id": paid_id}))
    run.record("retryPayment cancelled", shop.outcome(RETRY, {"id": declined_id}))
    run.record("refundPayment as customer", shop.outcome(REFUND, {"id": paid["order"]["payments"][0]["id"]}))
    admin = ShopClient(shop.url, issue_token("diff-admin", ADMIN_SCOPES, DEV_JWT_SECRET))
    try:
        run.record("fulfillOrder as admin", admin.outcome(FULFILL, {"id": paid_id}))
        run.record("fulfillOrder again", admin.outcome(FULFILL, {"id": paid_id}))
    finally:
        admin.close()
    # Settled before the run ends, so what it leaves to read does not change under the readers.
    record_notifications("notifications after fulfilment", ("ORDER_FULFILLED", paid_id))
    return run
