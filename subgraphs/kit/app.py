"""The Starlette app factory: GraphQL at /graphql (HTTP, GraphiQL, WebSockets), /health, /ready (Mongo, Redis
and every watched background loop, 503 with the reasons) and /events/stats (the event stream per group)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson
import strawberry
from cross_web import HTTPException  # what Strawberry's HTTP views turn into a 4xx response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from subgraphs.kit import tracing
from subgraphs.kit.access_log import AccessLogMiddleware
from subgraphs.kit.auth import prepare_authorization
from subgraphs.kit.context import RequestContext
from subgraphs.kit.events.stats import stream_stats
from subgraphs.kit.internal_access import InternalOnlyMiddleware
from subgraphs.kit.logs import request_id_var
from subgraphs.kit.metrics import ScrapeGauges, Source, instrument_schema, metrics_route, stream_sources
from subgraphs.kit.runtime import ServiceRuntime

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
ContextFactory = Callable[[ServiceRuntime, Request | WebSocket, Response | WebSocket | None], RequestContext]


class _GraphQLApp(GraphQL[RequestContext, None]):
    def __init__(self, schema: strawberry.Schema, runtime: ServiceRuntime, context_factory: ContextFactory):
        super().__init__(
            schema,
            graphql_ide=None if runtime.settings.production else "graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self._runtime = runtime
        self._context_factory = context_factory

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> RequestContext:
        # an unknown JWKS key is fetched here, not in a (synchronous) resolver
        await prepare_authorization(request.headers.get("authorization"), self._runtime.settings.verifier_config())
        return self._context_factory(self._runtime, request, response)

    def parse_json(self, data: str | bytes) -> Any:
        """A request body (or GET `variables`) must be a JSON object: anything else is a 400, where
        Strawberry would answer invalid UTF-8 or a bare `123` / `null` with a 500."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:  # also raised for invalid UTF-8
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(value, dict):
            raise HTTPException(400, "The request body must be a JSON object")
        return value


class RequestIdMiddleware:
    """Takes `X-Request-ID` from the caller or makes one; logs and the response carry it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id")
        text = incoming.decode("latin-1")[:128] if incoming else ""
        # a printable id only: it is written into every log line of the request
        request_id = text if text.isprintable() and text.strip() else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


async def _run_shutdown_hook(hook: Hook) -> None:
    """Run one hook; whatever it raises is logged, so the remaining hooks always run. A CancelledError
    that leaked out of a hook (a task it awaited was cancelled) is swallowed too; only the cancellation
    of the shutdown itself propagates."""
    try:
        await hook()
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.exception("shutdown hook %s leaked a CancelledError", getattr(hook, "__qualname__", hook))
    except Exception:
        log.exception("shutdown hook failed")


def create_service_app(
    runtime: ServiceRuntime,
    schema: strawberry.Schema,
    *,
    context_factory: ContextFactory = RequestContext,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    extra_routes: Sequence[Any] = (),
    metrics_sources: Sequence[Source] = (),
    queues: Sequence[str] = (),
) -> Starlette:
    """Build a service's ASGI app. Startup hooks run after Mongo and Redis are connected,
    shutdown hooks before they are closed (in reverse order). `/metrics` adds the event stream, the
    depth of `queues` and `metrics_sources` (scrape-time gauges, subgraphs.kit.metrics)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            for hook in on_startup:
                await hook()
        except BaseException:
            await runtime.stop()
            raise
        log.info("%s ready", runtime.settings.service)
        try:
            yield
        finally:
            for hook in reversed(on_shutdown):
                await _run_shutdown_hook(hook)
            await runtime.stop()

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "service": runtime.settings.service})

    async def ready(_: Request) -> Response:
        checks, reasons = await runtime.readiness_details()
        body: dict[str, Any] = {"status": "ready" if not reasons else "unavailable", **checks}
        if reasons:
            body["reasons"] = reasons
        return JSONResponse(body, status_code=503 if reasons else 200)

    async def event_stats(_: Request) -> Response:
        return JSONResponse((await stream_stats(runtime.redis)).to_dict())

    instrument_schema(schema, runtime.settings.service)
    gauges = ScrapeGauges([*stream_sources(lambda: runtime.redis, queues), *metrics_sources])
    graphql_app = _GraphQLApp(schema, runtime, context_factory)
    routes = [
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),
        Route("/health", health),
        Route("/ready", ready),
        Route("/events/stats", event_stats),
        Route("/metrics", metrics_route(gauges, production=runtime.settings.production)),
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    settings = runtime.settings
    app.add_middleware(InternalOnlyMiddleware, secret=settings.subgraph_shared_secret,
                       max_skew_seconds=settings.subgraph_max_skew_seconds)
    app.add_middleware(AccessLogMiddleware)  # inside RequestIdMiddleware: its line carries the id
    app.add_middleware(RequestIdMiddleware)
    if tracing.configure(settings.service):
        app.add_middleware(tracing.instrument_app)
    return app
