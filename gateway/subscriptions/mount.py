"""The ASGI middleware in front of the core app that routes the real-time requests to their endpoints.

On the GraphQL path: WebSocket upgrades and `Accept: text/event-stream` requests go to the
endpoints (a :class:`~gateway.subscriptions.realtime.Realtime`), and, with a GraphiQL, browser GETs
of that path and the explorer's own routes to the explorer; everything else goes to the app
untouched. Every request passes here, so it is compiled (gateway.native) and reads the raw headers:
no Request object on the query path.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from ..cors import Cors
from ..graphiql import GraphiQL, wants_html
from .sse import wants_event_stream


class Endpoints(Protocol):
    """What the middleware routes to (`Realtime`)."""

    async def websocket(self, websocket: WebSocket) -> None: ...

    async def sse(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...


class RealtimeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        realtime: Endpoints,
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
