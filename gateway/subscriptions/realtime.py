"""The real-time endpoints as one object, and an ASGI middleware that mounts them on /graphql.

`Realtime` owns the shared-upstream hub and the connection cap; it serves WebSocket sessions
(graphql-transport-ws, legacy graphql-ws) and SSE streams over any :class:`OperationExecutor`.
`RealtimeMiddleware` routes, in front of the core app: WebSocket upgrades and
`Accept: text/event-stream` requests on the GraphQL path, and (with a GraphiQL) browser GETs
of that path plus the explorer's own routes; everything else goes to the app untouched.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Router, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from ..config import OperationLimits, Settings
from ..cors import Cors
from ..graphiql import GraphiQL, wants_html
from ..graphiql.dev_token import dev_headers_factory
from ..runtime import Gateway
from .engine import SubscriptionEngine
from .executor import OperationExecutor
from .gateway_executor import GatewayExecutor
from .hub import SubscriptionHub
from .limits import ConnectionLimiter
from .settings import SubscriptionSettings
from .sse import sse_response, wants_event_stream
from .upstream import UpstreamRequest, subscribe_upstream
from .websocket import serve_websocket


class Realtime:
    def __init__(
        self,
        executor: OperationExecutor,
        settings: SubscriptionSettings | None = None,
        hub: SubscriptionHub | None = None,
        limits: OperationLimits | None = None,
    ) -> None:
        self.executor = executor
        self.settings = settings or SubscriptionSettings()
        # the request size limit of plain HTTP, applied to SSE bodies and WebSocket messages too
        self.limits = limits or OperationLimits()
        self.hub = hub
        self.limiter = ConnectionLimiter(self.settings.max_connections)

    @classmethod
    def for_gateway(cls, gateway: Gateway, settings: SubscriptionSettings | None = None) -> Realtime:
        """Subscriptions federated through `gateway`, with upstream subscriptions shared."""
        settings = settings or SubscriptionSettings.from_env()

        def source(request: UpstreamRequest) -> AsyncGenerator[dict[str, Any], None]:
            return subscribe_upstream(
                request, settings.upstream_connect_timeout, internal_headers=gateway.client.internal_headers
            )

        hub = SubscriptionHub(source, max_pending=settings.max_pending_events)
        executor = GatewayExecutor(gateway, SubscriptionEngine(gateway, hub))
        return cls(executor, settings, hub, gateway.limits)

    async def websocket(self, websocket: WebSocket) -> None:
        await serve_websocket(websocket, self.executor, self.settings, self.limiter, self.limits.http_max_request_bytes)

    async def sse(self, request: Request) -> Response:
        return await sse_response(
            request, self.executor, self.settings, self.limiter, self.limits.http_max_request_bytes
        )

    def routes(self, path: str = "/graphql") -> list[BaseRoute]:
        """The WebSocket route; SSE shares the HTTP route, see :meth:`sse`."""
        return [WebSocketRoute(path, self.websocket)]

    def stats(self) -> dict[str, int]:
        return {
            "connections": self.limiter.active,
            "upstream_subscriptions": self.hub.upstream_count if self.hub else 0,
        }

    async def aclose(self) -> None:
        if self.hub is not None:
            await self.hub.aclose()


class RealtimeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        realtime: Realtime,
        *,
        path: str = "/graphql",
        graphiql: GraphiQL | None = None,
        cors: Cors | None = None,
    ) -> None:
        self.app = app
        self.cors = cors
        self.realtime = realtime
        self.path = path
        self.graphiql = graphiql
        self.graphiql_router = Router(routes=graphiql.routes()) if graphiql else None
        self.graphiql_prefix = graphiql.prefix if graphiql else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, self._closing_on_shutdown(receive), send)
            return
        if kind == "http" and self.cors is not None:
            cors_send = await self.cors.apply(scope, send)
            if cors_send is None:  # a preflight, answered
                return
            send = cors_send
        path = scope.get("path", "")
        if path == self.path + "/":
            path = self.path
        if kind == "websocket" and path == self.path:
            await self.realtime.websocket(WebSocket(scope, receive, send))
            return
        if kind == "http" and path == self.path:
            # The query hot path: a bytes scan of the Accept header; a Request only for SSE or a browser.
            accept = _accept_header(scope)
            if b"text/event-stream" in accept:
                request = Request(scope, receive)
                if wants_event_stream(request):
                    response = await self.realtime.sse(request)
                    await response(scope, receive, send)
                    return
            if b"text/html" in accept and self.graphiql is not None:
                request = Request(scope, receive)
                if wants_html(request):
                    await (await self.graphiql.page(request))(scope, receive, send)
                    return
        if kind == "http" and path == "/" and self.graphiql_prefix and scope.get("method") in ("GET", "HEAD"):
            # a person opening the gateway's address: the explorer (404 where it is closed)
            await RedirectResponse(self.graphiql_prefix, status_code=302)(scope, receive, send)
            return
        if (
            kind == "http"
            and self.graphiql_router is not None
            and self.graphiql_prefix
            and (path == self.graphiql_prefix or path.startswith(self.graphiql_prefix + "/"))
        ):
            await self.graphiql_router(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _closing_on_shutdown(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.realtime.aclose()
            return message

        return wrapped


def _accept_header(scope: Scope) -> bytes:
    """The (first) Accept header lower-cased, b"" without one: checked before building a Request."""
    for name, value in scope["headers"]:
        if name == b"accept":
            return value.lower()
    return b""


def with_realtime(
    app: ASGIApp,
    gateway: Gateway,
    settings: Settings,
    subscription_settings: SubscriptionSettings | None = None,
    *,
    path: str = "/graphql",
) -> RealtimeMiddleware:
    """`app` (the core HTTP app) behind the WebSocket/SSE transports and the GraphiQL explorer."""
    realtime = Realtime.for_gateway(gateway, subscription_settings or SubscriptionSettings.from_env())
    graphiql = (
        GraphiQL(settings.graphiql_assets_dir, endpoint=path, default_headers=dev_headers_factory(settings))
        if settings.graphiql
        else None
    )
    return RealtimeMiddleware(app, realtime, path=path, graphiql=graphiql, cors=Cors.from_settings(settings))
