"""Test helpers: raw WebSocket clients, a fake executor, and the federated stack (three fixture
subgraphs + the core gateway app behind the real-time layer) on free loopback ports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.composition import SubgraphSource, compose
from gateway.config import OperationLimits, Settings
from gateway.http1 import IMPORT_STRING as GATEWAY_HTTP
from gateway.metrics import with_metrics
from gateway.server import create_app
from gateway.subscriptions import (
    ClientContext,
    GraphQLRequest,
    OperationError,
    Realtime,
    RealtimeMiddleware,
    SubscriptionHub,
    SubscriptionSettings,
)
from gateway.subscriptions.engine import SubscriptionEngine
from gateway.subscriptions.gateway_executor import GatewayExecutor
from tests.support.servers import serve_asgi, wait_for

from .fixtures import SCHEMAS, ConnectionCounter, subgraph_app, subgraph_sdl

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


# --- raw WebSocket clients ------------------------------------------------------------------
async def open_ws(url: str, protocol: str | None = TRANSPORT_WS, **kwargs: Any) -> ClientConnection:
    protocols = [Subprotocol(protocol)] if protocol else None
    return await connect(url, subprotocols=protocols, proxy=None, open_timeout=10, **kwargs)


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection, within: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        message = json.loads(await ws.recv())
    assert isinstance(message, dict)
    return message


async def recv_skipping(ws: ClientConnection, *skip: str, within: float = 10.0) -> dict[str, Any]:
    """The next message whose type is not in `skip` (e.g. legacy keep-alives)."""
    while True:
        message = await recv(ws, within)
        if message.get("type") not in skip:
            return message


async def closed_with(ws: ClientConnection, within: float = 10.0) -> tuple[int | None, str | None]:
    """Wait for the server to close; the close code and reason it sent."""
    try:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


async def init(ws: ClientConnection, payload: dict[str, Any] | None = None) -> None:
    await send(ws, {"type": "connection_init", "payload": payload or {}})
    assert (await recv(ws))["type"] == "connection_ack"


# --- a fake executor for transport tests ------------------------------------------------------
class FakeStream:
    """A subscription whose events the test pushes; records whether the transport closed it."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | OperationError | None] = asyncio.Queue()
        self.closed = False

    def push(self, item: dict[str, Any] | OperationError | None) -> None:
        self.queue.put_nowait(item)

    def __aiter__(self) -> FakeStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        item = await self.queue.get()
        if item is None:
            raise StopAsyncIteration
        if isinstance(item, OperationError):
            raise item
        return item

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class FakeExecutor:
    """`subscription ...` gives a FakeStream; `{ bad` is a syntax error; anything else echoes."""

    streams: list[FakeStream] = field(default_factory=list)
    contexts: list[ClientContext] = field(default_factory=list)

    async def run(self, request: GraphQLRequest, context: ClientContext) -> dict[str, Any] | FakeStream:
        self.contexts.append(context)
        if request.query.startswith("{ bad"):
            raise OperationError.single("Syntax Error: Expected Name, found <EOF>.", "GRAPHQL_PARSE_FAILED")
        if request.query.startswith("subscription"):
            stream = FakeStream()
            self.streams.append(stream)
            return stream
        return {"data": {"echo": dict(request.variables or {}), "auth": context.authorization}}


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """The app behind the middleware in transport tests: lifespan, and 404 for everything else."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await PlainTextResponse("not found", status_code=404)(scope, receive, send)


@asynccontextmanager
async def fake_gateway(**settings: Any) -> AsyncIterator[tuple[str, FakeExecutor, Realtime]]:
    """The real-time layer over a :class:`FakeExecutor`; yields (ws base URL, executor, realtime)."""
    executor = FakeExecutor()
    realtime = Realtime(executor, SubscriptionSettings(**settings))
    async with serve_asgi(RealtimeMiddleware(_not_found, realtime), http=GATEWAY_HTTP) as base:
        yield base.replace("http://", "ws://") + "/graphql", executor, realtime


# --- the federated stack ----------------------------------------------------------------------
@dataclass
class Stack:
    base_url: str
    app: RealtimeMiddleware
    counters: dict[str, ConnectionCounter]
    subgraph_urls: dict[str, str]
    ports: dict[str, int]
    servers: dict[str, AbstractAsyncContextManager[str]]

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"

    @property
    def graphql_url(self) -> str:
        return self.base_url + "/graphql"

    @property
    def realtime(self) -> Realtime:
        return self.app.realtime

    @property
    def hub(self) -> SubscriptionHub:
        assert self.realtime.hub is not None
        return self.realtime.hub

    @property
    def engine(self) -> SubscriptionEngine:
        executor = self.realtime.executor
        assert isinstance(executor, GatewayExecutor)
        return executor.engine

    def hub_clients(self) -> int:
        """Clients reading an upstream subscription now, over all upstreams."""
        return sum(len(entry.subscribers) for entry in self.hub._entries.values())

    async def start_subgraph(self, name: str, app: ConnectionCounter, port: int | None = None) -> None:
        server = serve_asgi(app, port, http=GATEWAY_HTTP)
        base = await server.__aenter__()
        self.servers[name] = server
        self.counters[name] = app
        self.ports[name] = int(base.rsplit(":", 1)[1])
        self.subgraph_urls[name] = base + "/graphql"

    async def stop_subgraph(self, name: str) -> None:
        server = self.servers.pop(name)
        await server.__aexit__(None, None, None)

    async def stop_all_subgraphs(self) -> None:
        for name in list(self.servers):
            await self.stop_subgraph(name)


def gateway_app(supergraph_sdl: str, subscription_settings: SubscriptionSettings,
                limits: OperationLimits | None = None, **gateway_settings: Any) -> RealtimeMiddleware:
    """The gateway's app as served, with these subscription limits (and operation limits, and any
    other settings)."""
    settings = Settings(supergraph_sdl=supergraph_sdl, limits=limits or OperationLimits(), **gateway_settings)
    return create_app(settings, subscription_settings=subscription_settings)


@asynccontextmanager
async def federated_stack(
    *,
    limits: OperationLimits | None = None,
    metrics: bool = False,
    gateway_settings: dict[str, Any] | None = None,
    wrap_http: Callable[[str, Any], Any] | None = None,
    **settings: Any,
) -> AsyncIterator[Stack]:
    """Three fixture subgraphs and the gateway in front of them, all on free loopback ports.

    `metrics`: behind the metrics layer, as `gateway serve` runs it (`/metrics` on the same port).
    `wrap_http(name, app)` puts a layer in front of a subgraph's app (its WebSockets pass through)."""
    stack = Stack("", None, {}, {}, {}, {})  # type: ignore[arg-type]
    try:
        for name in SCHEMAS:
            counter = subgraph_app(name)
            if wrap_http is not None:
                counter.app = wrap_http(name, counter.app)
            await stack.start_subgraph(name, counter)
        sdls = [SubgraphSource(n, stack.subgraph_urls[n], subgraph_sdl(s)) for n, s in SCHEMAS.items()]
        stack.app = gateway_app(compose(sdls), SubscriptionSettings(**settings), limits, **(gateway_settings or {}))
        served = with_metrics(stack.app, production=False) if metrics else stack.app
        async with serve_asgi(served, http=GATEWAY_HTTP) as base_url:
            stack.base_url = base_url
            yield stack
    finally:
        await stack.stop_all_subgraphs()


async def eventually(predicate: Any, message: str, within: float = 10.0) -> None:
    """Poll a plain predicate until it holds (fails the test after `within` seconds)."""

    async def probe() -> bool:
        return bool(predicate())

    await wait_for(probe, timeout=within, message=message)
