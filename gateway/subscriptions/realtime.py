"""The real-time endpoints as one object, and `with_realtime`, which mounts them on /graphql.

`Realtime` owns the shared-upstream hub and the connection cap; it serves WebSocket sessions
(graphql-transport-ws, legacy graphql-ws) and SSE streams over any :class:`OperationExecutor`.
The middleware in front of the core app is :class:`~gateway.subscriptions.mount.RealtimeMiddleware`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from ..config import OperationLimits, Settings
from ..cors import Cors
from ..graphiql import GraphiQL
from ..graphiql.dev_token import dev_headers_factory
from ..runtime import Gateway
from .engine import SubscriptionEngine
from .executor import OperationExecutor
from .gateway_executor import GatewayExecutor
from .hub import SubscriptionHub
from .limits import ConnectionLimiter
from .mount import RealtimeMiddleware
from .settings import SubscriptionSettings
from .sse import sse_response
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
