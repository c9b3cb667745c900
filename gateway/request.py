"""The GraphQL request every transport carries: `{query, variables, operationName, extensions}`.

One reading and one set of checks for the HTTP front end (server.py) and the real-time transports
(WebSocket, SSE): a malformed request raises :class:`InvalidRequest`, a 400 `BAD_REQUEST`
:class:`RequestError`. Built for the HTTP hot path: plain dicts and tuples, no request objects.
Also the Accept-header test that the SSE transport and the explorer share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .planning.prepare import RequestError, error_dict

# (query, variables, operationName, extensions); operationName "" is read as None
RequestParams = tuple[str, dict[str, Any] | None, str | None, dict[str, Any] | None]


class InvalidRequest(RequestError):
    """The payload is not a GraphQL request (not JSON, no query, wrong types): 400, BAD_REQUEST."""

    def __init__(self, message: str) -> None:
        super().__init__([error_dict(message, "BAD_REQUEST")])


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
