"""HTTP front end: a thin ASGI app (no framework on the hot path) speaking GraphQL over HTTP.

Routes: POST/GET /graphql, /health, /ready, POST /cache/invalidation (gateway.cache). Status codes
follow the GraphQL-over-HTTP spec: request errors (bad JSON, parse or validation failures, bad
variables) are 4xx, field errors in an executed request are 200. `create_app` puts it behind the
real-time layer (gateway.subscriptions), which serves WebSocket and SSE subscriptions on /graphql
and the GraphiQL explorer to browsers.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from random import getrandbits
from typing import Any
from urllib.parse import parse_qsl

import orjson

from telemetry.logs import trace_id_from

from . import metrics, tracing
from .access_log import AccessRecord, note_operation
from .cache import CacheUnavailable, InvalidationError
from .config import Settings
from .errors import RequestError, error_dict
from .gc_tuning import tune_after_startup
from .limits.report import COST_HEADER
from .logs import configure_from_env, request_id_var, trace_id_var
from .multipart import accepts_multipart, send_multipart
from .request import (
    HttpError,
    check_content_type,
    check_operation_kind,
    payload_from_body,
    payload_from_query,
    read_body,
    request_params,
)
from .runtime import Gateway
from .subscriptions import RealtimeMiddleware, SubscriptionSettings, with_realtime

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("gateway.server")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


class GatewayApp:
    """ASGI application serving one :class:`Gateway`."""

    def __init__(self, gateway: Gateway, settings: Settings) -> None:
        self.gateway = gateway
        self.settings = settings
        self.ready = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":  # the real-time layer in front serves /graphql; nothing else speaks it
            await send({"type": "websocket.close", "code": 4404})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.gateway.start()
                except Exception as exc:  # startup must report, not crash the loop
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self.ready = True
                metrics.start()
                tune_after_startup(self.settings.gc_freeze, self.settings.gc_gen0_threshold)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                metrics.stop()
                await self.gateway.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- routing -----------------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        request_id = _request_id(scope)
        id_token = request_id_var.set(request_id)
        trace_id = trace_id_from(_header(scope, b"traceparent"))
        trace_token = trace_id_var.set(trace_id) if trace_id else None
        access = AccessRecord(method, path)
        send = access.wrap(_sending_request_id(send, request_id))
        try:
            await self._route(scope, receive, send, path, method, request_id)
        finally:
            access.finish()
            if trace_token is not None:
                trace_id_var.reset(trace_token)
            request_id_var.reset(id_token)

    async def _route(self, scope: Scope, receive: Receive, send: Send, path: str, method: str,
                     request_id: str) -> None:
        try:
            if path in ("/graphql", "/graphql/"):
                headers = _headers(scope)
                headers["x-request-id"] = request_id  # forwarded to the subgraphs, logged with errors
                if method == "POST":
                    await self._post(scope, receive, send, headers)
                elif method in ("GET", "HEAD"):
                    await self._get(scope, receive, send, headers)
                else:
                    raise HttpError(
                        405,
                        [error_dict(f"Method {method} is not allowed; use GET or POST.", "BAD_REQUEST")],
                        {"allow": "GET, POST"},
                    )
            elif path == self.settings.cache.invalidation_path:
                await self._invalidation(scope, receive, send, method)
            elif path == "/health":
                await _send_json(send, 200, {"status": "ok"})
            elif path == "/ready":
                # the supergraph is parsed before the app exists, so a served request means loaded
                await _send_json(send, 200, {"status": "ready", "subgraphs": len(self.gateway.supergraph.subgraphs)})
            else:
                await _send_json(send, 404, {"errors": [error_dict("Not found", "NOT_FOUND")]})
        except RequestError as exc:  # HttpError, a bad payload, or the operation failed before execution
            metrics.note_refusal(exc.errors)
            media = _negotiate(_headers(scope).get("accept")) or APPLICATION_JSON
            extra = getattr(exc, "headers", None)  # HttpError, RateLimited, PersistedQueryError
            await _send_json(send, exc.status, {"errors": exc.errors}, media, extra)
        except Exception:  # the last line of defence: never leak a traceback
            log.exception("unhandled error serving %s %s", method, path)
            await _send_json(send, 500, {"errors": [error_dict("Internal server error", "INTERNAL_SERVER_ERROR")]})

    async def _invalidation(self, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        """POST a JSON list of invalidations (gateway.cache.invalidation) with the configured bearer
        token; 404 while the cache or the token is not configured."""
        token = self.settings.cache.invalidation_token
        if self.gateway.response_cache is None or not token:
            raise HttpError(404, [error_dict("Not found", "NOT_FOUND")])
        if method != "POST":
            raise HttpError(405, [error_dict(f"Method {method} is not allowed; use POST.", "BAD_REQUEST")],
                            {"allow": "POST"})
        headers = _headers(scope)
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise HttpError(401, [error_dict("a valid invalidation token is required", "UNAUTHENTICATED")],
                            {"www-authenticate": "Bearer"})
        body = await read_body(receive, self.gateway.limits.http_max_request_bytes, headers)
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise HttpError(400, [error_dict("the body must be JSON", "BAD_REQUEST")]) from None
        try:
            dropped = await self.gateway.invalidate(raw)
        except InvalidationError as exc:
            raise HttpError(400, [error_dict(str(exc), "BAD_REQUEST")]) from None
        except CacheUnavailable:
            raise HttpError(503, [error_dict("the cache's Redis is unavailable; retry", "CACHE_UNAVAILABLE")],
                            {"retry-after": "1"}) from None
        await _send_json(send, 200, {"invalidated": dropped})

    async def _post(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        media = _negotiate(headers.get("accept"))
        if media is None:
            raise HttpError(
                406, [error_dict(f"Accept must allow application/json or {GRAPHQL_RESPONSE_JSON}", "BAD_REQUEST")]
            )
        check_content_type(headers.get("content-type", ""))
        body = await read_body(receive, self.gateway.limits.http_max_request_bytes, headers)
        payload = payload_from_body(body)
        await self._graphql(payload, headers, media, send, is_get=False, peer=_peer(scope), receive=receive)

    async def _get(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        media = _negotiate(headers.get("accept") or None)
        if media is None:
            raise HttpError(406, [error_dict("Accept must allow application/json", "BAD_REQUEST")])
        await self._graphql(
            payload_from_query(params), headers, media, send, is_get=True, peer=_peer(scope), receive=receive
        )

    async def _graphql(
        self,
        payload: dict[str, Any],
        headers: dict[str, str],
        media: str,
        send: Send,
        is_get: bool,
        peer: str | None = None,
        receive: Receive | None = None,
    ) -> None:
        query, variables, operation_name, extensions = request_params(payload)
        note_operation(operation_name)
        gateway = self.gateway
        claims = await gateway.identify(headers, peer)  # a bad token: 401 before any planning
        if extensions is not None or gateway.persisted.safelist:  # persisted queries (APQ, safelist)
            query = await gateway.persisted.resolve(query, extensions)
        prepared = await gateway.prepare_async(query, operation_name)  # RequestError: answered by _http
        note_operation(prepared.name)  # the document's own name when the request gave none
        metrics.note_operation(prepared.name, prepared.kind)
        tracing.note_operation(prepared.name, prepared.kind)
        check_operation_kind(prepared.kind, via_get=is_get, streaming=False)
        if gateway.rate_limiter is not None:  # after parsing, before any subgraph fetch
            await gateway.rate_limiter.check(prepared, claims.subject if claims else None, headers, peer)
        values = gateway.coerce_variables(prepared, variables)
        want_plan = _asked(headers, "x-query-plan")
        want_cost = _asked(headers, COST_HEADER)
        # RequestError here too, e.g. when the operation cannot be planned
        if prepared.defers and accepts_multipart(headers.get("accept")):
            payloads = await gateway.execute_incremental(
                prepared, values, headers, include_plan=want_plan, claims=claims, include_cost=want_cost
            )
            if payloads is not None:  # else no @defer is in force (`if: $v`): one response
                await send_multipart(send, receive, payloads, [])
                return
        if not want_plan and not want_cost:  # straight to bytes, through the cache where there is one
            body, errors = await gateway.execute_to_json(prepared, values, headers, query, operation_name, claims)
            if errors:
                metrics.note_response({"errors": True})
            await _send_bytes(send, 200, body, media)
            return
        response = await gateway.execute_prepared(
            prepared, values, headers, include_plan=want_plan, claims=claims, include_cost=want_cost
        )
        metrics.note_response(response)
        await _send_bytes(send, 200, orjson.dumps(response), media)


def _asked(headers: dict[str, str], name: str) -> bool:
    return headers.get(name, "").lower() in ("true", "1", "yes")


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID (trimmed to 128 printable characters) or a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")[:128]
            if text.isprintable() and text.strip():
                return text
            break
    # 32 hex digits like uuid4().hex, without a UUID (4.4 us) or os.urandom's getrandom syscall (2% of
    # W3's CPU): an id correlates lines, it guards nothing; `random` reseeds itself in a forked child
    return f"{getrandbits(128):032x}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _sending_request_id(send: Send, request_id: str) -> Send:
    header = (b"x-request-id", request_id.encode("latin-1"))

    def wrapped(message: Message) -> Awaitable[None]:  # not async: the caller awaits send's own coroutine
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), header]
        return send(message)

    return wrapped


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _negotiate(accept: str | None) -> str | None:
    """Response media type for an Accept header; None when nothing acceptable is offered."""
    if not accept:
        return APPLICATION_JSON
    lowered = accept.lower()
    if GRAPHQL_RESPONSE_JSON in lowered:
        return GRAPHQL_RESPONSE_JSON
    if APPLICATION_JSON in lowered or "*/*" in lowered or "application/*" in lowered:
        return APPLICATION_JSON
    if accepts_multipart(lowered):  # a response without deferred parts is one JSON document
        return APPLICATION_JSON
    return None


async def _send_json(
    send: Send,
    status: int,
    payload: Any,
    media: str = APPLICATION_JSON,
    extra: dict[str, str] | None = None,
) -> None:
    await _send_bytes(send, status, orjson.dumps(payload), media, extra)


async def _send_bytes(send: Send, status: int, body: bytes, media: str, extra: dict[str, str] | None = None) -> None:
    if media in (APPLICATION_JSON, GRAPHQL_RESPONSE_JSON):
        media += "; charset=utf-8"
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
    for name, value in (extra or {}).items():
        headers.append((name.encode(), value.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(
    settings: Settings | None = None,
    gateway: Gateway | None = None,
    subscription_settings: SubscriptionSettings | None = None,
) -> RealtimeMiddleware:
    """ASGI app for `settings` (supergraph from settings.supergraph_sdl or supergraph_path): the HTTP
    gateway behind the subscription transports and the explorer. Its `.app` is the `GatewayApp`."""
    settings = settings or Settings.from_env()
    settings.check_production()  # production on development defaults: refuse to start
    tracing.configure()
    if gateway is None:
        gateway = Gateway(settings.load_supergraph_sdl(), settings)
    core = tracing.instrument_http(GatewayApp(gateway, settings))
    return with_realtime(core, gateway, settings, subscription_settings)


def create_app_from_env() -> Any:
    """Factory for `uvicorn --factory` and multi-worker runs: everything comes from the environment,
    behind the metrics layer (gateway.metrics; off with GATEWAY_METRICS=0)."""
    configure_from_env()  # a spawned uvicorn worker process starts with no logging configured
    settings = Settings.from_env()
    return metrics.with_metrics(create_app(settings), production=settings.production)
