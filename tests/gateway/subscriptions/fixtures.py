"""Fixture subgraphs for subscription tests: three Strawberry federation apps.

- orders: `Order @key(id)` with lines (each a `Product` stub), and the `Subscription` root:
  `orderStatusChanged(orderId)` (events published by the test through a :class:`Broker`),
  `ticker(id, count)` (counts 1..count as fast as the client reads), `whoami` (what auth the
  subgraph saw), `failAfter(n)` (n events, then a resolver error), `journal(after)` (the entries of
  :data:`JOURNAL` after an eventId, then each one appended: the SSE resumption convention).
- payments: adds `Order.payments` (held while :data:`PAYMENTS_GATE` is closed), `Order.viewer`
  (the Authorization header the entity fetch carried) and `Order.broken` (an error, after the gate).
- products: owns `Product.name`.

The broker lives in the test's event loop, so tests publish events directly and deterministically.
A :class:`ConnectionCounter` wraps an app to count WebSocket connections (open now, and ever) and
to record the headers of its WebSocket handshakes and HTTP requests.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.types import Info


class Broker:
    """Topic -> subscriber queues; `publish` returns how many subscribers received the event."""

    def __init__(self) -> None:
        self.queues: dict[str, set[asyncio.Queue[dict[str, Any] | None]]] = defaultdict(set)

    def subscribers(self, topic: str) -> int:
        return len(self.queues.get(topic, ()))

    def publish(self, topic: str, event: dict[str, Any] | None) -> int:
        queues = list(self.queues.get(topic, ()))
        for queue in queues:
            queue.put_nowait(event)
        return len(queues)

    async def listen(self, topic: str) -> AsyncGenerator[dict[str, Any], None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.queues[topic].add(queue)
        try:
            while True:
                event = await queue.get()
                if event is None:
                    return
                yield event
        finally:
            self.queues[topic].discard(queue)


BROKER = Broker()


class Gate:
    """Holds the resolvers that pass it while it is closed, so a test decides when they answer."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self.waiting = 0

    def close(self) -> None:
        self._event = asyncio.Event()  # bound to the running test's loop

    def open(self) -> None:
        if self._event is not None:
            self._event.set()
        self._event = None

    async def passed(self) -> None:
        event = self._event
        if event is None:
            return
        self.waiting += 1
        try:
            await event.wait()
        finally:
            self.waiting -= 1


PAYMENTS_GATE = Gate()

# `journal` entries (eventId = n); :func:`append_journal` adds one and tells the live subscribers.
JOURNAL: list[int] = []


def append_journal(n: int) -> int:
    JOURNAL.append(n)
    return BROKER.publish("journal", {"n": n})

ORDERS: dict[str, dict[str, Any]] = {
    "o1": {"number": "A-1001", "lines": [("sku-1", 2, "p1"), ("sku-2", 1, "p2")]},
    "o2": {"number": "A-1002", "lines": [("sku-3", 5, "p3")]},
}
PRODUCTS = {"p1": "Red shirt", "p2": "Blue socks", "p3": "Green hat"}
PAYMENTS = {"o1": [("pay-1", "CAPTURED", 2500)], "o2": [("pay-2", "DECLINED", 900), ("pay-3", "CAPTURED", 900)]}


# --- orders -----------------------------------------------------------------------------------
@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID


@strawberry.type
class OrderLine:
    sku: str
    quantity: int
    product: Product


@strawberry.federation.type(keys=["id"])
class Order:
    id: strawberry.ID
    number: str
    lines: list[OrderLine]

    @classmethod
    def load(cls, order_id: str) -> Order:
        raw = ORDERS[order_id]
        lines = [OrderLine(sku=s, quantity=q, product=Product(id=strawberry.ID(p))) for s, q, p in raw["lines"]]
        return cls(id=strawberry.ID(order_id), number=raw["number"], lines=lines)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Order:
        return cls.load(str(id))


@strawberry.type
class OrderStatusEvent:
    event_id: int
    status: str
    order: Order


@strawberry.type
class Tick:
    id: strawberry.ID
    n: int


@strawberry.type(name="Query")
class OrdersQuery:
    @strawberry.field
    def order(self, id: strawberry.ID) -> Order | None:
        return Order.load(str(id)) if str(id) in ORDERS else None


def _seen_authorization(info: Info) -> str:
    request = info.context.get("request")
    header = request.headers.get("authorization") if request is not None else None
    params = info.context.get("connection_params") or {}
    return f"header={header};init={params.get('Authorization')}"


@strawberry.type
class JournalEntry:
    event_id: strawberry.ID
    n: int


@strawberry.type(name="Subscription")
class OrdersSubscription:
    @strawberry.subscription
    async def order_status_changed(self, order_id: strawberry.ID) -> AsyncGenerator[OrderStatusEvent, None]:
        async for event in BROKER.listen(f"order:{order_id}"):
            yield OrderStatusEvent(event_id=event["eventId"], status=event["status"], order=Order.load(str(order_id)))

    @strawberry.subscription
    async def ticker(self, id: strawberry.ID, count: int = 3) -> AsyncGenerator[Tick, None]:
        for n in range(1, count + 1):
            yield Tick(id=id, n=n)

    @strawberry.subscription
    async def whoami(self, info: Info) -> AsyncGenerator[str, None]:
        yield _seen_authorization(info)
        async for _ in BROKER.listen("whoami"):
            yield _seen_authorization(info)

    @strawberry.subscription
    async def journal(self, after: strawberry.ID | None = None) -> AsyncGenerator[JournalEntry, None]:
        seen = int(str(after)) if after is not None else 0
        live = BROKER.listen("journal")
        for n in [n for n in JOURNAL if n > seen]:
            seen = n
            yield JournalEntry(event_id=strawberry.ID(str(n)), n=n)
        async for event in live:
            if event["n"] > seen:
                seen = event["n"]
                yield JournalEntry(event_id=strawberry.ID(str(seen)), n=seen)

    @strawberry.subscription
    async def fail_after(self, n: int) -> AsyncGenerator[int, None]:
        for i in range(n):
            yield i
        raise RuntimeError("the ticker broke")


orders_schema = strawberry.federation.Schema(
    query=OrdersQuery, subscription=OrdersSubscription, types=[Order, Product, OrderLine]
)


# --- payments ---------------------------------------------------------------------------------
@strawberry.type
class Payment:
    id: strawberry.ID
    status: str
    amount: int


@strawberry.federation.type(keys=["id"], name="Order")
class PaymentsOrder:
    id: strawberry.ID

    @strawberry.field
    async def payments(self) -> list[Payment]:
        await PAYMENTS_GATE.passed()
        return [Payment(id=strawberry.ID(i), status=s, amount=a) for i, s, a in PAYMENTS.get(str(self.id), [])]

    @strawberry.field
    def viewer(self, info: Info) -> str:
        request = info.context.get("request")
        return (request.headers.get("authorization") if request is not None else None) or "anonymous"

    @strawberry.field
    async def broken(self) -> str | None:
        await PAYMENTS_GATE.passed()
        raise RuntimeError("the audit trail is unavailable")

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> PaymentsOrder:
        return cls(id=id)


@strawberry.type(name="Query")
class PaymentsQuery:
    @strawberry.field
    def payment_count(self) -> int:
        return sum(len(p) for p in PAYMENTS.values())


payments_schema = strawberry.federation.Schema(query=PaymentsQuery, types=[PaymentsOrder])


# --- products ---------------------------------------------------------------------------------
@strawberry.federation.type(keys=["id"], name="Product")
class CatalogProduct:
    id: strawberry.ID

    @strawberry.field
    def name(self) -> str:
        return PRODUCTS[str(self.id)]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> CatalogProduct:
        return cls(id=id)


@strawberry.type(name="Query")
class ProductsQuery:
    @strawberry.field
    def product(self, id: strawberry.ID) -> CatalogProduct | None:
        return CatalogProduct(id=id) if str(id) in PRODUCTS else None


products_schema = strawberry.federation.Schema(query=ProductsQuery, types=[CatalogProduct])

SCHEMAS = {"orders": orders_schema, "payments": payments_schema, "products": products_schema}


def subgraph_sdl(schema: strawberry.federation.Schema) -> str:
    result = schema.execute_sync("{ _service { sdl } }")
    assert result.errors is None, result.errors
    assert result.data is not None
    return str(result.data["_service"]["sdl"])


@dataclass
class ConnectionCounter:
    """ASGI wrapper counting WebSocket connections to the wrapped app and recording request headers."""

    app: ASGIApp
    open: int = 0
    total: int = 0
    history: list[str] = field(default_factory=list)
    handshakes: list[dict[str, str]] = field(default_factory=list)  # each WebSocket's headers
    posts: list[dict[str, str]] = field(default_factory=list)  # each HTTP POST's headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # Strawberry's ASGI app has no lifespan support
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        if scope["type"] != "websocket":
            if scope["type"] == "http" and scope["method"] == "POST":
                self.posts.append(headers)
            await self.app(scope, receive, send)
            return
        self.open += 1
        self.total += 1
        self.history.append(headers.get("authorization", ""))
        self.handshakes.append(headers)
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1


def subgraph_app(name: str) -> ConnectionCounter:
    return ConnectionCounter(GraphQL(SCHEMAS[name]))
