"""The `graphql-transport-ws` subprotocol (the graphql-ws library's protocol), server side.

Close codes as its PROTOCOL.md defines them: 4400 invalid message, 4401 subscribe before the
connection is acknowledged, 4408 no connection_init in time, 4409 duplicate operation id, 4429 a
second connection_init.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..request import InvalidRequest
from .executor import ExecutionResult
from .request import ClientContext, GraphQLRequest
from .session import WebSocketSession

SUBPROTOCOL = "graphql-transport-ws"


def _optional_object(message: Mapping[str, Any]) -> bool:
    payload = message.get("payload")
    return payload is None or isinstance(payload, Mapping)


class TransportWsSession(WebSocketSession):
    subprotocol = SUBPROTOCOL

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_received = False

    async def invalid_json(self) -> None:
        await self.close(4400, "Invalid message received: not JSON")

    async def handle(self, message: Any) -> None:
        if not isinstance(message, Mapping) or not isinstance(message.get("type"), str):
            await self.close(4400, "Invalid message received: expected an object with a string type")
            return
        kind = message["type"]
        if kind == "connection_init":
            await self._connection_init(message)
        elif kind == "ping":
            if not _optional_object(message):
                await self.close(4400, "Invalid message received: ping payload must be an object")
                return
            await self.send({"type": "pong"})
        elif kind == "pong":
            if not _optional_object(message):
                await self.close(4400, "Invalid message received: pong payload must be an object")
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            operation_id = message.get("id")
            if not isinstance(operation_id, str) or not operation_id:
                await self.close(4400, "Invalid message received: complete needs a string id")
                return
            await self.stop(operation_id)
        else:
            await self.close(4400, f"Invalid message received: unknown type {kind[:40]!r}")

    async def _connection_init(self, message: Mapping[str, Any]) -> None:
        if self._init_received:
            await self.close(4429, "Too many initialisation requests")
            return
        self._init_received = True
        if not _optional_object(message):
            await self.close(4400, "Invalid message received: connection_init payload must be an object")
            return
        peer = self.websocket.client.host if self.websocket.client else None
        self.context = ClientContext.build(self.websocket.headers, message.get("payload"), peer)
        await self.send({"type": "connection_ack"})

    async def _subscribe(self, message: Mapping[str, Any]) -> None:
        if self.context is None:
            await self.close(4401, "Unauthorized")
            return
        operation_id = message.get("id")
        if not isinstance(operation_id, str) or not operation_id:
            await self.close(4400, "Invalid message received: subscribe needs a string id")
            return
        try:
            request = GraphQLRequest.from_payload(message.get("payload"))
        except InvalidRequest as exc:
            await self.close(4400, f"Invalid message received: {exc}")
            return
        if operation_id in self.operations:
            await self.close(4409, f"Subscriber for {operation_id} already exists")
            return
        if self.at_operation_limit():
            await self.send_errors(operation_id, self.operation_limit_errors())
            return
        self.start(operation_id, request)

    async def send_result(self, operation_id: str, result: ExecutionResult) -> None:
        await self.send({"type": "next", "id": operation_id, "payload": result})

    async def send_errors(self, operation_id: str, errors: list[dict[str, Any]]) -> None:
        await self.send({"type": "error", "id": operation_id, "payload": errors})

    async def send_complete(self, operation_id: str) -> None:
        await self.send({"type": "complete", "id": operation_id})
