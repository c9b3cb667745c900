"""Raw asyncio HTTP/1.1 servers for tests: a handler writes whatever bytes it likes (chunked bodies,
early closes, stalls, garbage), and the server records the requests and its connections."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Request:
    head: bytes
    body: bytes

    def header(self, name: str) -> str | None:
        for line in self.head.decode().split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


# A handler answers the n-th request of a connection (0-based): it writes to `writer` itself.
Handler = Callable[[Request, int, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    handler: Handler
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            n = 0
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request = Request(head, b"")
                length = int(request.header("content-length") or 0)
                request.body = await reader.readexactly(length)
                self.requests.append(request)
                await self.handler(request, n, writer)
                n += 1
                if writer.is_closing():
                    return
        finally:
            self.open_now -= 1
            writer.close()


class RawServers:
    """Starts raw servers on free ports (the `raw_servers` fixture closes them after the test)."""

    def __init__(self) -> None:
        self._servers: list[asyncio.Server] = []

    async def start(self, handler: Handler, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> RawServer:
        """A server on a free port; with `tls`, an https one whose URL names `host`."""
        raw = RawServer(handler)
        server = await asyncio.start_server(raw._serve, "127.0.0.1", 0, ssl=tls)
        self._servers.append(server)
        scheme = "https" if tls is not None else "http"
        raw.url = f"{scheme}://{host}:{server.sockets[0].getsockname()[1]}/graphql"
        return raw

    def close(self) -> None:
        for server in self._servers:
            server.close()


def response(body: bytes, *extra: bytes, status: bytes = b"200 OK") -> bytes:
    """A complete Content-Length response."""
    headers = b"".join(h + b"\r\n" for h in extra)
    return b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (
        len(body), headers) + body


def answering(body: bytes) -> Handler:
    """A handler that answers every request with `body` (JSON, 200)."""

    async def handler(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(response(body))

    return handler
