"""CORS for the gateway's routes: an origin allow-list, preflight answers and response headers.

Requests without an Origin header pass untouched (one scan of the header list). An allowed origin
is echoed in Access-Control-Allow-Origin (never `*` when credentials are allowed) with
`Vary: Origin`; a disallowed origin gets no CORS headers, and its preflight a 403 with a message.
Outside production, with nothing configured, localhost origins on any port are allowed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .config import Settings

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Scope = MutableMapping[str, Any]

DEV_ORIGIN_REGEX = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$"
ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = (
    "authorization, content-type, accept, apollo-require-preflight, x-apollo-operation-name, "
    "apollographql-client-name, apollographql-client-version, x-request-id"
)
EXPOSE_HEADERS = "retry-after, x-request-id"


class Cors:
    def __init__(
        self,
        origins: tuple[str, ...] = (),
        origin_regex: str | None = None,
        allow_credentials: bool = False,
        max_age: int = 600,
        extra_headers: tuple[str, ...] = (),
    ) -> None:
        self.any_origin = "*" in origins
        self.origins = frozenset(o.rstrip("/") for o in origins if o != "*")
        self.regex = re.compile(origin_regex) if origin_regex else None
        self.credentials = allow_credentials
        self.max_age = max_age
        self.allow_headers = ", ".join(dict.fromkeys([*ALLOW_HEADERS.split(", "), *extra_headers])).encode()

    @classmethod
    def from_settings(cls, settings: Settings) -> Cors:
        regex = settings.cors_allow_origin_regex
        if regex is None and not settings.production and not settings.cors_allow_origins:
            regex = DEV_ORIGIN_REGEX
        return cls(
            settings.cors_allow_origins,
            regex,
            settings.cors_allow_credentials,
            settings.cors_max_age,
            settings.forward_headers,  # headers forwarded to subgraphs are ones browsers may send
        )

    def allows(self, origin: str) -> bool:
        if self.any_origin or origin in self.origins:
            return True
        return self.regex is not None and self.regex.fullmatch(origin) is not None

    def _allow_origin(self, origin: str) -> list[tuple[bytes, bytes]]:
        # `*` only for a wildcard configuration without credentials; otherwise the origin itself
        value = b"*" if self.any_origin and not self.credentials else origin.encode("latin-1")
        headers = [(b"access-control-allow-origin", value), (b"vary", b"Origin")]
        if self.credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    async def apply(self, scope: Scope, send: Send) -> Send | None:
        """The `send` to use for this HTTP request; None when this answered it (a preflight)."""
        origin = preflight_method = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"access-control-request-method":
                preflight_method = value
        if origin is None:
            return send
        if scope["method"] == "OPTIONS" and preflight_method is not None:
            await self._preflight(origin, send)
            return None
        if not self.allows(origin):
            return send
        extra = [*self._allow_origin(origin), (b"access-control-expose-headers", EXPOSE_HEADERS.encode())]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                for i, (name, value) in enumerate(headers):
                    if name.lower() == b"vary":  # keep what the response varies on already
                        headers[i] = (name, value + b", Origin")
                        message["headers"] = headers + [h for h in extra if h[0] != b"vary"]
                        break
                else:
                    message["headers"] = headers + extra
            await send(message)

        return send_with_cors

    async def _preflight(self, origin: str, send: Send) -> None:
        if not self.allows(origin):
            body = orjson.dumps(
                {"errors": [{"message": f"Origin {origin} is not allowed", "extensions": {"code": "CORS_FORBIDDEN"}}]}
            )
            headers = [(b"content-type", b"application/json; charset=utf-8"), (b"vary", b"Origin")]
            await _respond(send, 403, headers, body)
            return
        headers = [
            *self._allow_origin(origin),
            (b"access-control-allow-methods", ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", self.allow_headers),
            (b"access-control-max-age", str(self.max_age).encode()),
        ]
        await _respond(send, 204, headers, b"")


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
