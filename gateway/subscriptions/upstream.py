"""A graphql-transport-ws client for one subscription against one subgraph.

One WebSocket per upstream subscription: sharing between clients happens a level up (hub.py),
keyed by the authorization too, so one socket never mixes users. The client's token goes both in
the handshake's Authorization header and in the connection_init payload, since subgraphs read
either. The gateway's signed internal header (authn.internal) is added at connect time, not kept
in the request, so requests stay equal (shareable) across its once-a-second changes. Likewise the
per-request identity headers (X-Request-ID, traceparent, tracestate) ride along without being part
of the request's identity: a socket shared by many clients carries those of the one that opened it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from ..runtime import PER_REQUEST_HEADERS
from .executor import OperationError

logger = logging.getLogger("gateway.subscriptions.upstream")

SUBPROTOCOL = Subprotocol("graphql-transport-ws")
_ids = itertools.count(1)


def websocket_url(http_url: str) -> str:
    """The subgraph's routing URL with ws(s) instead of http(s)."""
    parts = urlsplit(http_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """Everything that identifies an upstream subscription; equal requests may share one socket."""

    service: str
    url: str
    query: str
    variables: str  # canonical JSON of the variables sent, so the request is hashable
    operation_name: str | None = None
    authorization: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())
    # X-Request-ID, traceparent, tracestate of the client that asked first: sent, never compared
    identity: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @classmethod
    def build(
        cls,
        service: str,
        url: str,
        query: str,
        variables: Mapping[str, Any] | None,
        *,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamRequest:
        forwarded = {k.lower(): v for k, v in (headers or {}).items()}
        authorization = forwarded.pop("authorization", None)
        identity = tuple(sorted((k, forwarded.pop(k)) for k in PER_REQUEST_HEADERS & forwarded.keys()))
        return cls(
            service=service,
            url=url,
            query=query,
            variables=json.dumps(variables or {}, sort_keys=True, separators=(",", ":")),
            operation_name=operation_name,
            authorization=authorization,
            headers=tuple(sorted(forwarded.items())),
            identity=identity,
        )

    def handshake_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        headers.update(self.identity)
        if self.authorization:
            headers["Authorization"] = self.authorization
        return headers

    def init_payload(self) -> dict[str, Any]:
        return {"Authorization": self.authorization} if self.authorization else {}


def _upstream_error(service: str, message: str, code: str = "SUBREQUEST_HTTP_ERROR") -> OperationError:
    return OperationError([{"message": message, "extensions": {"code": code, "serviceName": service}}])


async def _receive(socket: ClientConnection, service: str) -> dict[str, Any]:
    try:
        raw = await socket.recv()
    except ConnectionClosed as exc:
        reason = f" {exc.rcvd.code}: {exc.rcvd.reason}" if exc.rcvd else ""
        raise _upstream_error(service, f"subscription to subgraph '{service}' closed by the subgraph{reason}") from exc
    try:
        message = json.loads(raw)
    except ValueError as exc:
        raise _upstream_error(service, f"subgraph '{service}' sent an invalid subscription message") from exc
    if not isinstance(message, dict):
        raise _upstream_error(service, f"subgraph '{service}' sent an invalid subscription message")
    return message


async def _open(
    request: UpstreamRequest, connect_timeout: float, internal_headers: Callable[[], dict[str, str]] | None = None
) -> ClientConnection:
    headers = request.handshake_headers()
    if internal_headers is not None:
        headers.update(internal_headers())
    try:
        socket = await connect(
            websocket_url(request.url),
            subprotocols=[SUBPROTOCOL],
            additional_headers=headers,
            open_timeout=connect_timeout,
            proxy=None,
            max_size=None,
            close_timeout=2,
        )
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
        raise _upstream_error(
            request.service, f"could not open a subscription to subgraph '{request.service}': {exc}"
        ) from exc
    try:
        await socket.send(json.dumps({"type": "connection_init", "payload": request.init_payload()}))
        async with asyncio.timeout(connect_timeout):
            while True:
                message = await _receive(socket, request.service)
                if message.get("type") == "connection_ack":
                    return socket
                if message.get("type") == "ping":
                    await socket.send(json.dumps({"type": "pong"}))
    except TimeoutError as exc:
        await socket.close()
        text = f"subgraph '{request.service}' did not acknowledge the connection"
        raise _upstream_error(request.service, text) from exc
    except BaseException:
        await socket.close()
        raise


async def subscribe_upstream(
    request: UpstreamRequest,
    connect_timeout: float = 10.0,
    *,
    internal_headers: Callable[[], dict[str, str]] | None = None,
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield the subgraph's execution results; raise :class:`OperationError` when it fails or
    closes the connection before completing. Closing the generator completes the subscription
    upstream and closes the socket. `internal_headers` gives the gateway's credential per connect."""
    socket = await _open(request, connect_timeout, internal_headers)
    operation_id = str(next(_ids))
    completed = False
    try:
        payload: dict[str, Any] = {"query": request.query, "variables": json.loads(request.variables)}
        if request.operation_name:
            payload["operationName"] = request.operation_name
        await socket.send(json.dumps({"type": "subscribe", "id": operation_id, "payload": payload}))
        while True:
            message = await _receive(socket, request.service)
            kind = message.get("type")
            if kind == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif message.get("id") != operation_id:
                continue
            elif kind == "next":
                result = message.get("payload")
                if isinstance(result, dict):
                    yield result
            elif kind == "error":
                completed = True
                errors = message.get("payload")
                raise OperationError(errors if isinstance(errors, list) else [{"message": str(errors)}])
            elif kind == "complete":
                completed = True
                return
    finally:
        if not completed:
            with contextlib.suppress(ConnectionClosed):
                await socket.send(json.dumps({"type": "complete", "id": operation_id}))
        await socket.close()
