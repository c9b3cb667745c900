"""A small graphql-transport-ws client over the `websockets` package, for subscription tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection


class TransportWsClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._next_id = 0

    async def subscribe(self, query: str, variables: dict[str, Any]) -> str:
        self._next_id += 1
        operation_id = str(self._next_id)
        await self.connection.send(json.dumps(
            {"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
        return operation_id

    async def receive(self, within: float = 10) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.connection.recv(), within))
            if message["type"] == "ping":
                await self.connection.send(json.dumps({"type": "pong"}))
                continue
            return message

    async def events(self, operation_id: str, within: float = 10) -> AsyncIterator[dict[str, Any]]:
        """Every `next` payload of the operation until its `complete` (or an `error`, which is raised)."""
        while True:
            message = await self.receive(within)
            assert message.get("id") == operation_id, message
            if message["type"] == "complete":
                return
            if message["type"] == "error":
                raise SubscriptionError(message["payload"])
            yield message["payload"]

    async def next_payload(self, operation_id: str, within: float = 10) -> dict[str, Any]:
        message = await self.receive(within)
        assert message.get("id") == operation_id and message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload


class SubscriptionError(Exception):
    def __init__(self, payload: Any) -> None:
        super().__init__(str(payload))
        self.payload = payload


@asynccontextmanager
async def transport_ws(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[TransportWsClient]:
    async with websockets.connect(url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as connection:
        await connection.send(json.dumps({"type": "connection_init", "payload": dict(headers or {})}))
        ack = json.loads(await asyncio.wait_for(connection.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield TransportWsClient(connection)
