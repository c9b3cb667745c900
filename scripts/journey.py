"""The shopper's journey through the gateway: browse, cart, order, live status, payment, notifications.

Used by `make demo` (against `make dev`) and by the end-to-end test (against a stack of real
processes). Queries go over HTTP; live status over WebSocket with the `gql` client.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from subgraphs.kit.auth import issue_token
from subgraphs.kit.settings import DEV_JWT_SECRET

CARD_OK = "pm_card_visa"
CARD_DECLINED = "pm_card_chargeDeclined"
FINAL_STATUSES = {"CANCELLED", "FULFILLED", "REFUNDED"}

T = TypeVar("T")
Say = Callable[[str], None]

BROWSE = """
query Browse {
  products(first: 20, filter: {inStock: true}, sortBy: PRICE_ASC) {
    totalCount
    edges {
      node { id name category variants { sku options { name value } price { amount currency } stock { available } } }
    }
  }
}"""
ADD_TO_CART = """
mutation Add($sku: String!, $quantity: Int!) {
  addToCart(sku: $sku, quantity: $quantity) {
    __typename
    ... on Cart { totalQuantity subtotal { amount currency } }
    ... on InsufficientStock { sku requested available }
  }
}"""
PLACE_ORDER = """
mutation Place($input: PlaceOrderInput!, $key: String!) {
  placeOrder(input: $input, idempotencyKey: $key) {
    __typename
    ... on OrderPlaced { order { id number status total { amount currency } } }
    ... on InsufficientStock { sku requested available }
  }
}"""
WATCH = """
subscription Watch($orderId: ID!) {
  orderStatusChanged(orderId: $orderId) {
    eventId status previousStatus reason
    order { number lines { quantity product { name } } payments { status } }
  }
}"""
STOCK = "query Stock($sku: String!) { variant(sku: $sku) { sku stock { onHand reserved available } } }"
NOTIFICATIONS = """
query Notifications {
  me { notifications(first: 50) { edges { node { eventType channel status subject order { id } } } } }
}"""


class JourneyError(Exception):
    """A step did not do what a shopper would expect."""


@dataclass
class Journey:
    gateway_url: str
    user_id: str = field(default_factory=lambda: f"shopper-{uuid.uuid4().hex[:8]}")
    email: str = "shopper@example.com"
    jwt_secret: str = DEV_JWT_SECRET
    say: Say = print
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self.token = issue_token(self.user_id, (), self.jwt_secret, email=self.email)
        self._http = httpx.AsyncClient(timeout=self.timeout, headers={"Authorization": f"Bearer {self.token}"})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self._http.post(self.gateway_url, json={"query": document, "variables": variables or {}})
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise JourneyError(f"HTTP {response.status_code}: {body.get('errors')}")
        return dict(body["data"])

    async def eventually(self, probe: Callable[[], Awaitable[T | None]], what: str) -> T:
        deadline = time.monotonic() + self.timeout
        while True:
            result = await probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise JourneyError(f"timed out after {self.timeout:.0f}s waiting for {what}")
            await asyncio.sleep(0.1)

    # --- steps -------------------------------------------------------------------------
    async def browse(self) -> list[dict[str, Any]]:
        data = await self.query(BROWSE)
        variants = [
            {**variant, "product": edge["node"]["name"]}
            for edge in data["products"]["edges"]
            for variant in edge["node"]["variants"]
            if variant["stock"]["available"] >= 3
        ]
        if len(variants) < 2:
            raise JourneyError("the catalog has fewer than two variants in stock")
        self.say(f"browse: {data['products']['totalCount']} products in stock; picked two variants:")
        for line in describe_picks(variants[:2], ("bought in step 1", "the declined card of step 2")):
            self.say(line)
        return variants

    async def add_to_cart(self, sku: str, quantity: int) -> dict[str, Any]:
        cart = (await self.query(ADD_TO_CART, {"sku": sku, "quantity": quantity}))["addToCart"]
        if cart["__typename"] != "Cart":
            raise JourneyError(f"add to cart: {cart}")
        self.say(f"cart: {cart['totalQuantity']} item(s), subtotal {money(cart['subtotal'])}")
        return dict(cart)

    async def place_order(self, payment_token: str, lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        order_input: dict[str, Any] = {"payment": {"provider": "CARD", "token": payment_token}}
        if lines is None:
            order_input["fromCart"] = True
        else:
            order_input["lines"] = lines
        result = (await self.query(PLACE_ORDER, {"input": order_input, "key": uuid.uuid4().hex}))["placeOrder"]
        if result["__typename"] != "OrderPlaced":
            raise JourneyError(f"place order: {result}")
        order = dict(result["order"])
        self.say(f"order {order['number']} placed: {order['status']}, total {money(order['total'])}")
        return order

    async def watch_until(self, order_id: str, target: str) -> list[dict[str, Any]]:
        """Subscribe through the gateway (graphql-transport-ws, with the gql client) until `target`."""
        ws_url = self.gateway_url.replace("http://", "ws://").replace("https://", "wss://")
        transport = WebsocketsTransport(url=ws_url, init_payload={"Authorization": f"Bearer {self.token}"})
        request = gql(WATCH)
        request.variable_values = {"orderId": order_id}
        events: list[dict[str, Any]] = []

        async def follow() -> None:
            async with Client(transport=transport) as session:
                async for result in session.subscribe(request):
                    event = result["orderStatusChanged"]
                    events.append(event)
                    # Nullable: null (with an error) while payments cannot answer.
                    listed = event["order"]["payments"]
                    payments = "unavailable" if listed is None else ", ".join(p["status"] for p in listed) or "none yet"
                    self.say(f"  live: {event['previousStatus'] or '-'} -> {event['status']}"
                             f"{' (' + event['reason'] + ')' if event['reason'] else ''}; payments: {payments}")
                    if event["status"] == target:
                        return
                    if event["status"] in FINAL_STATUSES:
                        raise JourneyError(f"order ended {event['status']}, expected {target}")

        try:
            await asyncio.wait_for(follow(), self.timeout)
        except TimeoutError:
            raise JourneyError(f"no {target} status within {self.timeout:.0f}s; saw {events}") from None
        return events

    async def stock(self, sku: str) -> dict[str, int]:
        return dict((await self.query(STOCK, {"sku": sku}))["variant"]["stock"])

    async def notifications(self) -> list[dict[str, Any]]:
        data = await self.query(NOTIFICATIONS)
        page = data["me"]["notifications"]  # nullable: null while notifications cannot answer
        return [] if page is None else [edge["node"] for edge in page["edges"]]

    async def sent(self, order_id: str, event_type: str) -> dict[str, Any] | None:
        for note in await self.notifications():
            if (note["order"] or {}).get("id") == order_id and note["eventType"] == event_type \
                    and note["channel"] == "EMAIL" and note["status"] == "SENT":
                return note
        return None


@dataclass
class JourneyResult:
    paid_order: dict[str, Any]
    paid_events: list[dict[str, Any]]
    cancelled_order: dict[str, Any]
    cancelled_events: list[dict[str, Any]]
    stock_before: dict[str, int]
    stock_after: dict[str, int]
    notifications: list[dict[str, Any]]


async def run_journey(journey: Journey) -> JourneyResult:
    say = journey.say
    first, second = (await journey.browse())[:2]

    say("\n1. A successful payment")
    await journey.add_to_cart(first["sku"], 2)
    paid = await journey.place_order(CARD_OK)
    paid_events = await journey.watch_until(paid["id"], "PAID")

    say("\n2. A declined card: the order is cancelled and its stock released")
    before = await journey.stock(second["sku"])
    say(f"stock of {second['sku']} before: {before['available']} available")
    cancelled = await journey.place_order(CARD_DECLINED, lines=[{"sku": second["sku"], "quantity": 2}])
    cancelled_events = await journey.watch_until(cancelled["id"], "CANCELLED")

    async def restored() -> dict[str, int] | None:
        stock = await journey.stock(second["sku"])
        return stock if stock["available"] == before["available"] and stock["reserved"] == before["reserved"] else None

    after = await journey.eventually(restored, "the declined order's stock to be released")
    say(f"stock of {second['sku']} after: {after['available']} available (back where it was)")

    say("\n3. Notifications")
    await journey.eventually(lambda: journey.sent(paid["id"], "ORDER_PAID"), "the order-paid email")
    await journey.eventually(lambda: journey.sent(cancelled["id"], "ORDER_CANCELLED"), "the order-cancelled email")
    notes = await journey.notifications()
    for note in notes:
        say(f"  {note['eventType']:<16} {note['channel']:<8} {note['status']:<7} {note['subject'] or ''}")
    return JourneyResult(paid, paid_events, cancelled, cancelled_events, before, after, notes)


def describe_picks(variants: list[dict[str, Any]], roles: tuple[str, ...]) -> list[str]:
    """One line per picked variant saying what tells it from the others: two variants of one product
    share its name, so their options (size, colour...) are printed, with price and stock."""
    rows = []
    for variant, role in zip(variants, roles, strict=False):
        options = ", ".join(f"{o['name']} {o['value']}" for o in variant.get("options") or []) or "no options"
        rows.append((f"{variant['product']} ({options})", variant["sku"],
                     f"{money(variant['price'])}, {variant['stock']['available']} available", role))
    width = max((len(row[0]) for row in rows), default=0)
    return [f"  {name:<{width}}  {sku}  {price}: {role}" for name, sku, price, role in rows]


def money(value: dict[str, Any] | None) -> str:
    if not value:
        return "-"
    return f"{value['amount'] / 100:.2f} {value['currency']}"
