"""A lean HTTP/1.1 client on the event loop's own protocols, for the gateway's subgraph POSTs.

The gateway sends one kind of request (a small JSON POST to a known origin) on its hottest path, so
this client does only that, with little per-request work: the request line and `Host` are encoded
once per origin, the caller hands over the header block already encoded, and the response is parsed
by httptools (the C parser uvicorn uses), Content-Length, chunked or read-until-close alike.

Each origin has a bounded keep-alive pool (`Pool`): idle connections are reused newest first and
closed after `KEEPALIVE_SECONDS` idle or `MAX_REQUESTS_PER_CONNECTION` requests; past the bound,
callers wait for a connection to come back. A request has one deadline, from taking a connection to
the last body byte. A reused connection the server closed before answering is retried once on a
fresh one when the caller says the request may be repeated (queries, not mutations).

A response body is read up to the pool's `max_body` bytes, before and after decoding alike (a small
gzip body cannot expand past it); a longer one fails the request and closes its connection.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
import zlib
from typing import Any
from urllib.parse import urlsplit

import httptools

# An idle connection is not reused after this long: uvicorn (our subgraphs) and Node close theirs
# after 5 s, and reusing one the server is closing at that moment fails the request (retried for
# queries only).
KEEPALIVE_SECONDS = 4.0
MAX_REQUESTS_PER_CONNECTION = 10_000
MAX_BODY_BYTES = 64 * 1024 * 1024

Response = tuple[int, bytes, str | None, str | None]  # status, body, Cache-Control, Cache-Tag


class TransportError(Exception):
    """No HTTP response: the connection failed, closed early, or the bytes were not HTTP."""


class TransportTimeout(TransportError):
    """The response did not arrive in time."""


class ResponseTooLarge(TransportError):
    """The response body is longer than the pool allows."""


class _StaleConnection(TransportError):
    """A reused connection closed before any byte of the response (the server's keep-alive ended)."""


class Origin:
    """Where one subgraph lives: the encoded request line and Host header, the TLS context if any."""

    __slots__ = ("host", "port", "prefix", "ssl")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if secure else 80)
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if secure else None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        default_port = parts.port is None or parts.port == (443 if secure else 80)
        host_header = parts.hostname if default_port else f"{parts.hostname}:{parts.port}"
        if ":" in parts.hostname and default_port:  # an IPv6 literal keeps its brackets
            host_header = f"[{parts.hostname}]"
        elif ":" in parts.hostname:
            host_header = f"[{parts.hostname}]:{parts.port}"
        self.prefix = f"POST {target} HTTP/1.1\r\nHost: {host_header}\r\n".encode("latin-1")


def encode_headers(headers: Any) -> bytes:
    """`Name: value` lines for a mapping of headers; a name or value that could split the header
    block (CR, LF) or an empty name is left out rather than sent."""
    lines = []
    for name, value in headers.items():
        if not name or "\r" in name or "\n" in name or ":" in name or "\r" in value or "\n" in value:
            continue
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("utf-8")


class _Connection(asyncio.Protocol):
    """One keep-alive connection: sends a request, parses its response, tells its waiter."""

    __slots__ = (
        "_chunks", "_encoding", "_framed", "_headers_done", "_parser", "_received", "_waiter",
        "cache_control", "cache_tag", "closed", "idle_since", "max_body", "requests", "status", "transport",
    )

    def __init__(self, max_body: int = MAX_BODY_BYTES) -> None:
        self.max_body = max_body
        self._received = 0
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.requests = 0
        self.idle_since = 0.0
        self.status = 0
        self.cache_control: str | None = None
        self.cache_tag: str | None = None
        self._waiter: asyncio.Future[bytes] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._chunks: list[bytes] = []
        self._encoding: bytes | None = None
        self._framed = False
        self._headers_done = False

    # --- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection is not in a known state
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(TransportError(f"invalid HTTP response: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        self.closed = True  # not to be taken from the pool again; a response being read ends below
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._headers_done and not self._framed:  # no length, not chunked: the body ends with the connection
            self.on_message_complete()
        elif not self._headers_done and not self._chunks and self.status == 0 and self.requests > 1:
            self._fail(_StaleConnection("the subgraph closed the connection"))
        else:
            reason = f": {exc}" if exc else ""
            self._fail(TransportError(f"the subgraph closed the connection before the response ended{reason}"))

    # --- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-length" or lowered == b"transfer-encoding":
            self._framed = True
        elif lowered == b"content-encoding":
            self._encoding = value.strip().lower()
        elif lowered == b"cache-control":  # several lines are one list (RFC 9110, 5.3)
            text = value.decode("latin-1").strip()
            self.cache_control = f"{self.cache_control}, {text}" if self.cache_control else text
        elif lowered == b"cache-tag":  # the cache's tags (gateway.cache.tags); several lines are one list
            text = value.decode("latin-1").strip()
            self.cache_tag = f"{self.cache_tag}, {text}" if self.cache_tag else text

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._received += len(body)
        if self._received > self.max_body:
            self._fail(ResponseTooLarge(f"the subgraph's response is larger than {self.max_body} bytes"))
            self.close()
            return
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if 100 <= self.status < 200:  # an interim response: the real one follows on the same connection
            self._reset()
            return
        body = b"".join(self._chunks)
        if self._encoding and self._encoding != b"identity":
            try:
                body = _decode(body, self._encoding, self.max_body)
            except ResponseTooLarge as too_large:  # one name per clause (compiled, see http.py)
                self._fail(too_large)
                self.close()
                return
            except (zlib.error, ValueError) as undecodable:
                self._fail(TransportError(f"cannot decode a {self._encoding.decode('latin-1')} body: {undecodable}"))
                self.close()
                return
        if not self._parser.should_keep_alive():
            self.close()
        waiter.set_result(body)

    # --- used by the pool
    def send(self, data: bytes, waiter: asyncio.Future[bytes]) -> None:
        self._reset()
        self._waiter = waiter
        self.requests += 1
        assert self.transport is not None
        if self.transport.is_closing():  # the server's close is on its way: nothing was sent
            self._fail(_StaleConnection("the subgraph closed the connection"))
            return
        self.transport.write(data)

    def finish(self) -> None:
        """After a response was read (or abandoned): forget the request's state."""
        self._waiter = None
        self._chunks = []

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _reset(self) -> None:
        self._chunks = []
        self._received = 0
        self._encoding = None
        self._framed = False
        self._headers_done = False
        self.status = 0
        self.cache_control = None
        self.cache_tag = None

    def _fail(self, exc: TransportError) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)


def _decode(body: bytes, encoding: bytes, limit: int) -> bytes:
    if encoding in (b"gzip", b"x-gzip"):
        return _inflate(body, 31, limit)
    if encoding == b"deflate":
        try:
            return _inflate(body, 15, limit)
        except zlib.error:  # raw deflate, as some servers send it
            return _inflate(body, -15, limit)
    raise ValueError("unsupported content-encoding")


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    """`body` decompressed, never past `limit` bytes (ResponseTooLarge)."""
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(body, limit + 1)
    if len(out) > limit:
        raise ResponseTooLarge(f"the subgraph's response is larger than {limit} bytes once decoded")
    if not inflater.eof:
        raise zlib.error("the compressed body is incomplete")
    return out


class Pool:
    """Keep-alive connections to one origin, at most `limit` open at once."""

    def __init__(self, origin: Origin, limit: int, max_body: int = MAX_BODY_BYTES) -> None:
        self.origin = origin
        self.limit = max(1, limit)
        self.max_body = max_body
        self.size = 0  # open or opening
        self._idle: collections.deque[_Connection] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def request(self, header_block: bytes, body: bytes, timeout: float, retry: bool) -> Response:
        """POST `body` with the encoded `header_block`: (status, body, Cache-Control, Cache-Tag).
        Raises TransportError."""
        data = b"".join((self.origin.prefix, header_block, b"Content-Length: %d\r\n\r\n" % len(body), body))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            return await self._exchange(loop, data, deadline, fresh=False)
        except _StaleConnection:
            if not retry:
                raise TransportError("the subgraph closed the connection") from None
            return await self._exchange(loop, data, deadline, fresh=True)

    async def _exchange(
        self, loop: asyncio.AbstractEventLoop, data: bytes, deadline: float, fresh: bool
    ) -> Response:
        conn = None if fresh else self._take_idle()
        if conn is None:
            conn = await self._open(loop, deadline)
        waiter: asyncio.Future[bytes] = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter)
        keep = False
        try:
            conn.send(data, waiter)
            body = await waiter
            keep = not conn.closed
            return conn.status, body, conn.cache_control, conn.cache_tag
        finally:
            timer.cancel()
            conn.finish()
            self._release(conn, keep)

    def _take_idle(self) -> _Connection | None:
        idle = self._idle
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < KEEPALIVE_SECONDS:
                return conn
            self._discard(conn)
        return None

    async def _open(self, loop: asyncio.AbstractEventLoop, deadline: float) -> _Connection:
        while self.size >= self.limit:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            timer = loop.call_at(deadline, _expire, waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._wake()  # our turn came as we were cancelled: pass it on
                raise
            finally:
                timer.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            conn = self._take_idle()
            if conn is not None:
                return conn
        self.size += 1
        try:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TransportTimeout("timed out")
            origin = self.origin
            async with asyncio.timeout(remaining):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self.max_body), origin.host, origin.port, ssl=origin.ssl,
                    server_hostname=origin.host if origin.ssl is not None else None,
                )
        except TimeoutError:
            self._closed_one()
            raise TransportTimeout("timed out connecting") from None
        except OSError as exc:
            self._closed_one()
            raise TransportError(f"cannot connect: {exc.strerror or exc}") from exc
        except BaseException:
            self._closed_one()
            raise
        return conn

    def _release(self, conn: _Connection, keep: bool) -> None:
        if keep and not conn.closed and conn.requests < MAX_REQUESTS_PER_CONNECTION:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
            self._wake()
        else:
            self._discard(conn)

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        self._closed_one()

    def _closed_one(self) -> None:
        self.size -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        while self._idle:
            self._discard(self._idle.pop())


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TransportTimeout("timed out"))
