"""uvicorn's httptools protocol, writing a response's head and its body in one `transport.write`.

uvicorn writes the head on `http.response.start` and the body on `http.response.body`: two syscalls
and, with TCP_NODELAY, two TCP segments for every response. Here a head with a Content-Length (or one
with no body at all: HEAD, 204, 304) is held until the first body write, and goes out joined with it;
the response's completion or a close writes a head still held (a HEAD response writes no body). A
chunked head (a streaming response: multipart @defer, SSE) is written at once, as before. Nothing of
uvicorn's is copied: each request cycle gets a transport proxy. Given to uvicorn as
`http="gateway.http_protocol:OneWriteHttpToolsProtocol"`, which multi-worker runs import too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

IMPORT_STRING = "gateway.http_protocol:OneWriteHttpToolsProtocol"


class _HeadHoldingTransport:
    """One request cycle's view of the connection's transport: holds the head until the body."""

    __slots__ = ("_cycle", "_head", "_on_response", "_passing", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle: RequestResponseCycle | None = cycle
        self._on_response: Callable[..., None] = cycle.on_response
        self._head: bytes | None = None
        self._passing = False  # the head went out: every later write passes straight through

    def write(self, data: bytes) -> None:
        if self._passing:
            self._transport.write(data)
            return
        head = self._head
        if head is not None:  # the first body write: joined with the head
            self._head = None
            self._passing = True
            self._transport.write(head + data)
            return
        cycle = self._cycle
        if cycle is not None and cycle.response_started:  # this is the head (cycle.send writes it once)
            if cycle.chunked_encoding:  # streaming: the head goes now
                self._passing = True
            else:
                self._head = data
                return
        self._transport.write(data)  # a streaming head, or `100 Continue` before the response

    def flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._passing = True
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def completed(self) -> None:
        """The cycle's `on_response`: the response is complete (no body write may have come)."""
        self.flush()
        self._cycle = None  # no reference cycle left for the garbage collector
        self._on_response()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info...: the real transport's
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose request cycles write through a head-holding transport proxy."""

    def on_headers_complete(self) -> None:
        previous = self.cycle
        super().on_headers_complete()  # creates the cycle; its task has not run yet
        cycle = self.cycle
        if cycle is not previous and cycle is not None:  # an upgrade (WebSocket) creates none
            proxy = _HeadHoldingTransport(cycle.transport, cycle)
            cycle.transport = proxy  # type: ignore[assignment]
            cycle.on_response = proxy.completed
