"""The legacy `graphql-ws` subprotocol of subscriptions-transport-ws, server side.

connection_init -> connection_ack + ka (then ka periodically); start/stop per operation id;
data/error/complete back; connection_terminate closes. Malformed messages get a
connection_error and leave the connection open, as that protocol says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..request import InvalidRequest
from .executor import ExecutionResult
from .request import ClientContext, GraphQLRequest
from .session import WebSocketSession

SUBPROTOCOL = "graphql-ws"


class LegacyWsSession(WebSocketSession):
    subprotocol = SUBPROTOCOL

    async def invalid_json(self) -> None:
        await self.send({"type": "connection_error", "payload": {"message": "Message must be JSON"}})

    async def handle(self, message: Any) -> None:
        if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
            await self._connection_error("Message must be an object with a string type")
            return
        kind = message["type"]
        if kind == "connection_init":
            await self._connection_init(message)
        elif kind == "start":
            await self._start(message)
        elif kind == "stop":
            operation_id = message.get("id")
            if isinstance(operation_id, str) and await self.stop(operation_id):
                await self.send_complete(operation_id)
        elif kind == "connection_terminate":
            await self.close(1000, "connection_terminate")
        else:
            await self._connection_error(f"Unknown message type {kind[:40]!r}")

    async def _connection_error(self, text: str) -> None:
        await self.send({"type": "connection_error", "payload": {"message": text}})

    async def _connection_init(self, message: Mapping[str, Any]) -> None:
        if self.context is not None:
            await self._connection_error("Too many initialisation requests")
            return
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, Mapping):
            await self._connection_error("connection_init payload must be an object")
            return
        peer = self.websocket.client.host if self.websocket.client else None
        self.context = ClientContext.build(self.websocket.headers, payload, peer)
        await self.send({"type": "connection_ack"})
        if self.settings.keepalive_interval > 0:
            await self.send({"type": "ka"})
            self.spawn(self._keepalive())

    async def _keepalive(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.settings.keepalive_interval)
            await self.send({"type": "ka"})

    async def _start(self, message: Mapping[str, Any]) -> None:
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            await self._connection_error("start needs a string id")
            return
        if self.context is None:
            await self.send_errors(
                operation_id,
                [{"message": "Unauthorized: send connection_init first", "extensions": {"code": "UNAUTHENTICATED"}}],
            )
            return
        try:
            request = GraphQLRequest.from_payload(message.get("payload"))
        except InvalidRequest as exc:
            await self.send_errors(operation_id, exc.errors)
            return
        # As subscriptions-transport-ws does: a start with a running id replaces that operation.
        await self.stop(operation_id)
        if self.at_operation_limit():
            await self.send_errors(operation_id, self.operation_limit_errors())
            return
        self.start(operation_id, request)

    async def send_result(self, operation_id: str, result: ExecutionResult) -> None:
        await self.send({"type": "data", "id": operation_id, "payload": result})

    async def send_errors(self, operation_id: str, errors: list[dict[str, Any]]) -> None:
        # The protocol's error payload is one error object; the full list rides along.
        first: dict[str, Any] = dict(errors[0]) if errors else {"message": "Unknown error"}
        if len(errors) > 1:
            first["message"] = "; ".join(str(e.get("message")) for e in errors)
            first["errors"] = errors
        await self.send({"type": "error", "id": operation_id, "payload": first})

    async def send_complete(self, operation_id: str) -> None:
        await self.send({"type": "complete", "id": operation_id})
