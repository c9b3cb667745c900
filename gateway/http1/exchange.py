"""One request and its response on an HTTP/1.1 connection: the ASGI `receive` and `send` of an
`http` scope.

The body the parser has read waits here until the application asks for it. The response's head is
held until the first body write and goes out joined with it (one `write`, one TCP segment for a
small response); a streaming response (no Content-Length: chunked) sends its head at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from .head import CONTINUE, LAST_CHUNK, build_head

if TYPE_CHECKING:
    from .connection import HttpConnection

Message = MutableMapping[str, Any]

BODILESS_STATUSES = frozenset((204, 304))


class Exchange:
    """The request's scope and body, and the state of its response."""

    __slots__ = (
        "bodiless",
        "body",
        "body_done",
        "body_size",
        "chunked",
        "complete",
        "connection",
        "delivered",
        "disconnected",
        "expect_continue",
        "head_request",
        "held",
        "keep_alive",
        "legacy",
        "remaining",
        "scope",
        "started",
        "task",
        "waiter",
    )

    def __init__(self, connection: HttpConnection, scope: dict[str, Any], keep_alive: bool,
                 expect_continue: bool, legacy: bool = False) -> None:
        self.connection = connection
        self.scope = scope
        self.keep_alive = keep_alive
        self.legacy = legacy  # an HTTP/1.0 client: no chunks, keep-alive only when asked and echoed
        self.expect_continue = expect_continue  # `Expect: 100-continue`, answered at the first receive
        self.head_request = scope["method"] == "HEAD"
        self.body: list[bytes] = []  # read, not yet given to the application
        self.body_size = 0
        self.body_done = False  # the parser has read the whole body
        self.delivered = False  # the application has the last of the body
        self.disconnected = False
        self.waiter: asyncio.Future[None] | None = None
        self.started = False  # the application sent its head
        self.complete = False  # ... and the last of its body
        self.bodiless = False  # a HEAD request's response, or a 1xx, 204 or 304: no body goes out
        self.chunked = False
        self.remaining: int | None = None  # body bytes its Content-Length still owes
        self.held: bytes | None = None  # the head, until the first body write
        self.task: asyncio.Task[None] | None = None

    # --- the connection's side ---------------------------------------------------------------
    def feed(self, chunk: bytes) -> None:
        if not self.complete:  # a body the application answered without reading is dropped
            self.body.append(chunk)
            self.body_size += len(chunk)
            self._wake()

    def end_of_body(self) -> None:
        self.body_done = True
        self._wake()

    def lost(self) -> None:
        self.disconnected = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # --- ASGI ------------------------------------------------------------------------------------
    async def receive(self) -> Message:
        if self.expect_continue:
            self.expect_continue = False
            if not self.started and not self.disconnected:
                self.connection.transport.write(CONTINUE)
        while True:
            if self.disconnected or self.complete:
                return {"type": "http.disconnect"}
            if not self.delivered and (self.body or self.body_done):
                chunks = self.body
                body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                self.body = []
                self.body_size = 0
                more = not self.body_done
                self.delivered = not more
                self.connection.body_taken()
                return {"type": "http.request", "body": body, "more_body": more}
            waiter = self.waiter = self.connection.loop.create_future()
            await waiter

    async def send(self, message: Message) -> None:
        kind = message["type"]
        connection = self.connection
        if connection.writing_paused and not self.disconnected:
            await connection.drained()
        if self.disconnected:
            return  # the client is gone: what the application still sends goes nowhere
        if self.started:
            if self.complete:
                raise RuntimeError(f"unexpected ASGI message {kind!r}: the response is already complete")
            if kind != "http.response.body":
                raise RuntimeError(f"expected ASGI message 'http.response.body', got {kind!r}")
            self._body(message.get("body", b""), bool(message.get("more_body", False)))
            return
        if kind != "http.response.start":
            raise RuntimeError(f"expected ASGI message 'http.response.start', got {kind!r}")
        status = message["status"]
        bodiless = self.head_request or status in BODILESS_STATUSES or (type(status) is int and status < 200)
        head = build_head(status, message.get("headers", ()), connection.default_header_lines(),
                          keep_alive=self.keep_alive, bodiless=bodiless, legacy=self.legacy)
        self.started = True
        self.bodiless = bodiless
        if head.close:
            self.keep_alive = False
        self.chunked = head.chunked
        self.remaining = None if bodiless else head.length
        if self.remaining is None and not bodiless:
            connection.transport.write(head.data)  # a stream (chunked, or to its close): its head goes now
        else:
            self.held = head.data

    def _body(self, body: bytes, more: bool) -> None:
        data: bytes
        if self.bodiless:
            data = b""
        elif self.chunked:
            data = b"%x\r\n%b\r\n" % (len(body), body) if body else b""
            if not more:
                data += LAST_CHUNK
        else:
            remaining = self.remaining
            if remaining is not None:
                remaining -= len(body)
                if remaining < 0:
                    raise RuntimeError("the response's body is longer than its Content-Length")
                if not more and remaining > 0:
                    raise RuntimeError("the response's body is shorter than its Content-Length")
                self.remaining = remaining
            data = body
        held = self.held
        if held is not None:
            self.held = None
            data = held + data
        if data:
            self.connection.transport.write(data)
        if not more:
            self.complete = True
            self._wake()  # a receive() waiting for a disconnect returns: the response is done
            self.connection.response_complete(self)

    def flush_head(self) -> None:
        """Write a head still held (the connection closes, or a HEAD response's body never came)."""
        held = self.held
        if held is not None:
            self.held = None
            self.connection.transport.write(held)
