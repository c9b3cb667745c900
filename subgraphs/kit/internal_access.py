"""Closing a service's /graphql to everyone but the gateway and the other services.

With `SUBGRAPH_SHARED_SECRET` set (required in production) a request to /graphql, HTTP or
WebSocket, must carry a valid signed internal header (authn.internal); anything else gets a 401
before Strawberry sees it, so neither `_service { sdl }`, introspection nor GraphiQL answer
strangers. /health, /ready and the other routes stay open. The verified caller is put in the ASGI
scope for the request's Authenticator.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from authn.internal import INTERNAL_HEADER, InternalCaller, verify_internal

log = logging.getLogger(__name__)

SCOPE_KEY = "kit.internal_caller"
_HEADER = INTERNAL_HEADER.encode()
_REFUSAL = orjson.dumps(
    {
        "errors": [
            {
                "message": "this service only answers the gateway and other services",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }
)


def internal_caller(scope: Any) -> InternalCaller | None:
    """The verified internal caller of a request (None when the check is off or absent)."""
    value = scope.get(SCOPE_KEY) if isinstance(scope, dict) else None
    return value if isinstance(value, InternalCaller) else None


class InternalOnlyMiddleware:
    def __init__(self, app: ASGIApp, secret: str | None, max_skew_seconds: float = 60.0, path: str = "/graphql"):
        self.app = app
        self.secret = secret
        self.max_skew_seconds = max_skew_seconds
        self.paths = (path, path + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        value = None
        for name, raw in scope.get("headers") or ():
            if name == _HEADER:
                value = raw.decode("latin-1")
                break
        caller = verify_internal(value, self.secret, max_skew_seconds=self.max_skew_seconds) if self.secret else None
        if self.secret and caller is None:
            log.info("refused a %s request to %s without a valid internal credential", scope["type"], scope["path"])
            await _refuse(scope, send)
            return
        if caller is not None:
            scope[SCOPE_KEY] = caller
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":  # closing before accept rejects the handshake (HTTP 403)
        await send({"type": "websocket.close", "code": 4401})
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_REFUSAL)).encode())]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": _REFUSAL})
