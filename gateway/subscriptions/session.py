"""What both WebSocket subprotocols share: the receive loop, serialised sends, running operations.

A subclass implements the message grammar (:meth:`WebSocketSession.handle`) and how results,
errors and completion are framed; this class owns the socket and the operation tasks, and makes
sure that every task is cancelled and every stream closed when the socket goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import metrics
from .executor import ExecutionResult, OperationError, OperationExecutor, as_stream
from .request import ClientContext, GraphQLRequest
from .settings import SubscriptionSettings

logger = logging.getLogger("gateway.subscriptions")

_MAX_REASON_BYTES = 123  # RFC 6455: a close frame's reason fits in 123 bytes


def _reason(text: str) -> str:
    data = text.encode("utf-8")[:_MAX_REASON_BYTES]
    return data.decode("utf-8", errors="ignore")


class WebSocketSession(ABC):
    subprotocol: ClassVar[str]

    def __init__(
        self,
        websocket: WebSocket,
        executor: OperationExecutor,
        settings: SubscriptionSettings,
        max_message_bytes: int = 0,
    ) -> None:
        self.websocket = websocket
        # the HTTP request size limit, for one message (a subscribe carries a whole request)
        self.max_message_bytes = max_message_bytes
        self.executor = executor
        self.settings = settings
        self.context: ClientContext | None = None
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()
        self._closed = False
        self._helpers: list[asyncio.Task[None]] = []

    # --- subclass hooks ----------------------------------------------------------------------
    @abstractmethod
    async def handle(self, message: Any) -> None:
        """React to one decoded client message (anything JSON, validated by the subclass)."""

    @abstractmethod
    async def invalid_json(self) -> None:
        """The client sent a frame that is not JSON."""

    @abstractmethod
    async def send_result(self, operation_id: str, result: ExecutionResult) -> None: ...

    @abstractmethod
    async def send_errors(self, operation_id: str, errors: list[dict[str, Any]]) -> None: ...

    @abstractmethod
    async def send_complete(self, operation_id: str) -> None: ...

    # --- lifecycle -----------------------------------------------------------------------------
    async def serve(self) -> None:
        await self.websocket.accept(subprotocol=self.subprotocol)
        if self.settings.connection_init_timeout > 0:
            self.spawn(self._init_deadline())
        try:
            while not self._closed:
                frame = await self.websocket.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                raw = frame.get("text")
                if raw is None and frame.get("bytes") is not None:
                    raw = frame["bytes"]
                if self.max_message_bytes and raw is not None and len(raw) > self.max_message_bytes:
                    # 1009 "Message Too Big" (RFC 6455); a text frame is measured in characters
                    await self.close(1009, f"Message larger than {self.max_message_bytes} bytes")
                    break
                try:
                    message = orjson.loads(raw) if raw is not None else None
                except orjson.JSONDecodeError:
                    await self.invalid_json()
                    continue
                await self.handle(message)
        except WebSocketDisconnect:
            pass
        finally:
            self._closed = True
            await self._shutdown()

    async def _shutdown(self) -> None:
        tasks = [*self.operations.values(), *self._helpers]
        self.operations.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def spawn(self, coroutine: Any) -> None:
        """Run a helper (timers, keep-alives) that lives no longer than the connection."""
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._helpers.append(task)
        task.add_done_callback(lambda t: self._helpers.remove(t) if t in self._helpers else None)

    async def _init_deadline(self) -> None:
        await asyncio.sleep(self.settings.connection_init_timeout)
        if self.context is None:
            await self.close(4408, "Connection initialisation timeout")

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, message: dict[str, Any]) -> None:
        if self._closed:
            return
        async with self._send_lock:
            try:
                await self.websocket.send_text(orjson.dumps(message).decode())
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._closed = True

    async def close(self, code: int, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.websocket.close(code=code, reason=_reason(reason))

    # --- operations ---------------------------------------------------------------------------
    def at_operation_limit(self) -> bool:
        return len(self.operations) >= self.settings.max_subscriptions_per_connection

    def operation_limit_errors(self) -> list[dict[str, Any]]:
        """The refusal of an operation over the connection's limit (counted as a `limit` refusal)."""
        limit = self.settings.max_subscriptions_per_connection
        metrics.count_refusal("limit")
        return [
            {
                "message": f"Too many operations on this connection: at most {limit} may run at once",
                "extensions": {"code": "TOO_MANY_SUBSCRIPTIONS"},
            }
        ]

    def start(self, operation_id: str, request: GraphQLRequest) -> None:
        assert self.context is not None
        task = asyncio.create_task(self._run(operation_id, request, self.context), name=f"ws-operation:{operation_id}")
        self.operations[operation_id] = task

    async def stop(self, operation_id: str) -> bool:
        """Cancel a running operation; False when it was not running."""
        task = self.operations.pop(operation_id, None)
        if task is None:
            return False
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return True

    async def _run(self, operation_id: str, request: GraphQLRequest, context: ClientContext) -> None:
        me = asyncio.current_task()
        stream = None
        metrics.subscription_changed("websocket", 1)
        try:
            try:
                stream = as_stream(await self.executor.run(request, context))
                async for result in stream:
                    await self.send_result(operation_id, result)
            except OperationError as exc:
                self._forget(operation_id, me)
                await self.send_errors(operation_id, exc.errors)
                return
            self._forget(operation_id, me)
            await self.send_complete(operation_id)
        except Exception:
            logger.exception("operation %s failed", operation_id)
            self._forget(operation_id, me)
            await self.send_errors(
                operation_id, [{"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
            )
        finally:
            metrics.subscription_changed("websocket", -1)
            self._forget(operation_id, me)
            if stream is not None:
                await stream.aclose()

    def _forget(self, operation_id: str, task: asyncio.Task[Any] | None) -> None:
        """Free the id before telling the client the operation ended, so it may reuse it at once."""
        if task is not None and self.operations.get(operation_id) is task:
            del self.operations[operation_id]
