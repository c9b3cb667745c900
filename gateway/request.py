"""The GraphQL request every transport carries: `{query, variables, operationName, extensions}`.

One reading and one set of checks for the HTTP front end (server.py) and the real-time transports
(WebSocket, SSE): a malformed request raises :class:`InvalidRequest`, a 400 `BAD_REQUEST`
:class:`RequestError`. The HTTP-level rules (body size, Content-Type of a POST, no mutation over
GET) live here too, so plain HTTP and SSE apply the same ones; the operation limits are applied
where every transport prepares its operation (gateway.runtime / gateway.limits). Built for the
HTTP hot path: plain dicts and tuples, no request objects. Also the Accept-header test that the
SSE transport and the explorer share.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import orjson

from .errors import RequestError, error_dict
from .limits.checks import PAYLOAD_TOO_LARGE

# (query, variables, operationName, extensions); operationName "" is read as None
RequestParams = tuple[str, dict[str, Any] | None, str | None, dict[str, Any] | None]


class InvalidRequest(RequestError):
    """The payload is not a GraphQL request (not JSON, no query, wrong types): 400, BAD_REQUEST."""

    def __init__(self, message: str) -> None:
        super().__init__([error_dict(message, "BAD_REQUEST")])


class HttpError(RequestError):
    """A request error with its own status and response headers (405 with Allow, 406, 413, 415)."""

    def __init__(self, status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None) -> None:
        super().__init__(errors, status)
        self.headers = headers or {}


def check_content_type(content_type: str) -> None:
    """A POST must carry JSON: a `text/plain` or form body is what a cross-site "simple request"
    (no CORS preflight) can send, so refusing it keeps other sites from running operations."""
    if content_type and "json" not in content_type.lower():
        raise HttpError(415, [error_dict("Content-Type must be application/json", "BAD_REQUEST")])


def check_operation_kind(kind: str, *, via_get: bool, streaming: bool) -> None:
    """Mutations only over POST (a GET must be safe: links, prefetches, cross-site images);
    subscriptions only on a streaming transport (SSE, WebSocket)."""
    if kind == "mutation" and via_get:
        raise HttpError(
            405, [error_dict("Mutations cannot be sent with GET; use POST.", "BAD_REQUEST")], {"allow": "POST"}
        )
    if kind == "subscription" and not streaming:
        raise HttpError(
            400,
            [
                error_dict(
                    "Subscriptions are not supported over plain HTTP requests; use a subscription transport.",
                    "SUBSCRIPTION_NOT_SUPPORTED",
                )
            ],
        )


def body_too_large(limit: int) -> HttpError:
    return HttpError(
        413,
        [
            {
                "message": f"The request body is larger than {limit} bytes.",
                "extensions": {"code": PAYLOAD_TOO_LARGE, "limit": limit},
            }
        ],
    )


async def read_body(
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]], limit: int, headers: Mapping[str, str]
) -> bytes:
    """An ASGI request body, refused (413) by its declared Content-Length or as soon as it passes
    `limit` bytes (0: no limit)."""
    declared = headers.get("content-length")
    if limit and declared is not None and declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if limit and size > limit:
                raise body_too_large(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def request_params(payload: dict[str, Any]) -> RequestParams:
    """The checked parameters of a request payload (a decoded JSON object or query parameters)."""
    query = payload.get("query")
    if (query is None or query == "") and _names_persisted_query(payload.get("extensions")):
        query = ""  # a persisted query (APQ hash or safelist id): gateway.persisted supplies the text
    elif not query or type(query) is not str:
        missing = query is None or query == ""
        raise InvalidRequest("Must provide query string." if missing else "The query must be a string.")
    variables = payload.get("variables")
    if variables is not None and type(variables) is not dict:
        raise InvalidRequest("The variables must be a JSON object.")
    operation_name = payload.get("operationName")
    if operation_name is not None and type(operation_name) is not str:
        raise InvalidRequest("The operationName must be a string.")
    extensions = payload.get("extensions")
    if extensions is not None and type(extensions) is not dict:
        raise InvalidRequest("The extensions must be a JSON object.")
    return query, variables, operation_name or None, extensions


def _names_persisted_query(extensions: Any) -> bool:
    return type(extensions) is dict and extensions.get("persistedQuery") is not None


def payload_from_body(body: bytes) -> dict[str, Any]:
    """A POST body as a request payload: it must be a JSON object."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest("The request body is not valid JSON.") from None
    if type(payload) is not dict:
        raise InvalidRequest("The request body must be a JSON object.")
    return payload


def payload_from_query(params: Mapping[str, str]) -> dict[str, Any]:
    """GET query parameters as a request payload: `variables` and `extensions` hold JSON text."""
    payload: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
    for name in ("variables", "extensions"):
        raw = params.get(name)
        if raw:
            try:
                payload[name] = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise InvalidRequest(f"The {name} parameter is not valid JSON.") from None
    return payload


def accepts(accept: str, media: str) -> bool:
    """Whether an Accept header names `media` (lower case, without parameters) as one of its types."""
    return any(part.split(";")[0].strip().lower() == media for part in accept.split(","))
