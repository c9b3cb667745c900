"""A client's GraphQL request and who sent it, independent of the transport that carried it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..request import InvalidRequest, request_params

_TOKEN_KEYS = ("Authorization", "authorization", "token", "authToken")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None
    extensions: Mapping[str, Any] | None = None
    # sent as an HTTP GET (SSE): a mutation in it is refused, as over plain HTTP
    via_get: bool = False

    @classmethod
    def from_payload(cls, payload: Any, *, via_get: bool = False) -> GraphQLRequest:
        """Read `{query, variables, operationName, extensions}` with the checks of every transport
        (:func:`gateway.request.request_params`); raises :class:`InvalidRequest`."""
        if not isinstance(payload, dict):
            raise InvalidRequest("The payload must be a JSON object.")
        return cls(*request_params(payload), via_get=via_get)


def authorization_from_params(params: Any) -> str | None:
    """The token a graphql-ws client put in its connection_init payload, as an Authorization value."""
    if not isinstance(params, Mapping):
        return None
    for key in _TOKEN_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            value = value.strip()
            if key in ("token", "authToken") and " " not in value:
                return f"Bearer {value}"
            return value
    headers = params.get("headers")
    if isinstance(headers, Mapping):
        return authorization_from_params({k: v for k, v in headers.items() if k.lower() == "authorization"})
    return None


@dataclass(frozen=True, slots=True)
class ClientContext:
    """Who is asking: the headers to forward to subgraphs (lower-case names) and the init payload."""

    headers: Mapping[str, str] = field(default_factory=dict)
    connection_params: Mapping[str, Any] | None = None
    # the TCP peer's address (for per-IP rate limits)
    peer: str | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @classmethod
    def build(cls, headers: Mapping[str, str], connection_params: Any = None, peer: str | None = None) -> ClientContext:
        """Headers of the HTTP request or WebSocket handshake; an init-payload token wins over them."""
        merged = {name.lower(): value for name, value in headers.items()}
        token = authorization_from_params(connection_params)
        if token:
            merged["authorization"] = token
        params = dict(connection_params) if isinstance(connection_params, Mapping) else None
        return cls(headers=merged, connection_params=params, peer=peer)
