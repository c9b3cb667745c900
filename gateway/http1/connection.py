"""An HTTP/1.1 connection for uvicorn's server, in place of uvicorn's own httptools protocol.

uvicorn keeps what it is good at (sockets, workers, signals, lifespan, graceful shutdown); this
protocol does the per-request work with less of it: httptools parses, a request becomes an
:class:`~gateway.http1.exchange.Exchange` (its ASGI `receive` and `send`) and one task, and a small
response goes out in one write. It keeps uvicorn's contract: the connection is in
`server_state.connections`, its tasks in `server_state.tasks`, `shutdown()` ends it gracefully, and a
WebSocket upgrade is handed to uvicorn's WebSocket protocol.

What it guards:
- a request head (its URL and headers) is at most `MAX_HEAD_BYTES`: 431 and close;
- a connection with nothing to answer closes `timeout_keep_alive` seconds after its last response,
  and a head that has begun must arrive within that time too (a trickled head cannot hold a
  connection open);
- a request body, after that same grace, must keep arriving at `MIN_BODY_RATE` bytes a second on
  average (as Kestrel's minimum data rate): a trickled body gets 408 and the connection closes. Its
  clock stops while reading is paused, since then the client is not the one holding it up;
- a body is read only as fast as the application takes it (reading pauses past `BODY_HIGH_WATER`),
  and pipelined requests wait their turn with reading paused;
- a malformed request gets 400 and the connection closes; an application that fails before its
  head gets 500.

HTTP/1.0 clients are answered too: kept alive only when they ask, with `connection: keep-alive`
echoed in the head, and sent a body of unknown length unchunked, ended by the close.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

import httptools
from uvicorn.config import Config
from uvicorn.server import ServerState

from .exchange import Exchange
from .head import encode_defaults, plain_response

log = logging.getLogger("gateway.http")

MAX_HEAD_BYTES = 64 * 1024
BODY_HIGH_WATER = 256 * 1024
MIN_BODY_RATE = 1024  # bytes per second, after the grace

App = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


class _HeadTooLarge(Exception):
    pass


class HttpConnection(asyncio.Protocol):
    """One client connection: parses its requests and runs the application for each in turn."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app: App = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.server_state = server_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.app_state = app_state
        self.root_path = config.root_path
        self.asgi_version = config.asgi_version
        untyped: Any = config  # uvicorn types it int; a float is welcome (compiled code checks the type)
        self.keep_alive_timeout = float(untyped.timeout_keep_alive)
        self.limit_concurrency = config.limit_concurrency
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        # answer a request even when more data follows its `connection: close`
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "http"
        # the request whose head is being parsed
        self.method = b""
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.expect_continue = False
        self.in_head = False
        self.head_bytes = 0  # its URL and headers so far
        self.head_pending = 0  # bytes received while it was incomplete, after the chunk it began in
        self.head_fed = False
        self.head_too_large = False
        self.websocket = False  # it asks for a WebSocket upgrade
        # the requests
        self.reading: Exchange | None = None  # whose body the parser is reading
        self.active: Exchange | None = None  # being answered
        self.queue: deque[Exchange] = deque()  # pipelined behind it
        self.reading_paused = False
        self.writing_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.idle_since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        # the body being read: since when (moved on when reading resumes), how much, its deadline timer
        self.body_since = 0.0
        self.body_received = 0
        self.body_timer: asyncio.TimerHandle | None = None
        self.defaults_source: object = None
        self.defaults = b""

    # --- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connections.add(self)  # type: ignore[arg-type]
        local = transport.get_extra_info("sockname")
        if isinstance(local, (tuple, list)) and len(local) >= 2:
            self.server = (str(local[0]), int(local[1]))
        elif isinstance(local, str) and local:
            self.server = (local, None)  # a Unix socket: its path
        peer = transport.get_extra_info("peername")
        if isinstance(peer, (tuple, list)) and len(peer) >= 2:
            self.client = (str(peer[0]), int(peer[1]))
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"
        self.idle_since = self.loop.time()
        self._arm_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.parser = None
        self._cancel_timer()
        self._cancel_body_timer()
        for exchange in (self.active, self.reading, *self.queue):
            if exchange is not None:
                exchange.lost()
        self.queue.clear()
        self.writing_paused = False
        self._wake_drain()

    def eof_received(self) -> bool | None:
        """The client sent all it will. A request it is still waiting for (no response begun) is
        answered, then the connection closes; otherwise (idle, or a response already streaming,
        such as SSE: a client that leaves sends its FIN) returning None closes it now."""
        active = self.active
        if active is None or active.started:
            return None
        active.keep_alive = False
        self.queue.clear()
        if self.reading is not None:  # a body cut short: the application sees the client gone
            self.reading.lost()
        return True

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            offset = upgrade.args[0] if upgrade.args and isinstance(upgrade.args[0], int) else len(data)
            self._upgrade(data[offset:])
            return
        except httptools.HttpParserError:
            if self.head_too_large:
                self._refuse(431, "Request header fields too large.")
            else:
                self._refuse(400, "Invalid HTTP request received.")
            return
        if self.in_head:  # a head still incomplete after this chunk
            if self.head_fed:
                self.head_pending += len(data)
                if self.head_pending > 2 * MAX_HEAD_BYTES:  # one header arriving without end
                    self._refuse(431, "Request header fields too large.")
            else:
                self.head_fed = True
        elif self.reading is not None and self.body_timer is None and not self.reading_paused:
            self._arm_body_timer()  # a body still owed after this chunk

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_drain()

    # --- uvicorn's server ----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Graceful shutdown: close now when idle, else after the response in progress."""
        active = self.active
        if active is None:
            self.transport.close()
            return
        active.keep_alive = False
        self.queue.clear()

    # --- httptools callbacks -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.expect_continue = False
        self.websocket = False
        self.in_head = True
        self.head_bytes = 0
        self.head_pending = 0
        self.head_fed = False
        self.idle_since = self.loop.time()  # a head that has begun has the keep-alive time to arrive

    def on_url(self, url: bytes) -> None:
        self.url += url
        self.head_bytes += len(url)
        if self.head_bytes > MAX_HEAD_BYTES:
            self.head_too_large = True
            raise _HeadTooLarge

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value)
        if self.head_bytes > MAX_HEAD_BYTES:
            self.head_too_large = True
            raise _HeadTooLarge
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.in_head = False
        parser = self.parser
        assert parser is not None
        self.method = parser.get_method()
        keep_alive = parser.should_keep_alive()
        if parser.should_upgrade():
            if self._asks_for_websocket():
                self.websocket = True
                return
            keep_alive = False  # an upgrade we do not speak: answered as HTTP/1.1, then the connection closes
        version = parser.get_http_version()
        # Any: its path and query are typed `bytes` by httptools' stubs but None when absent, and
        # compiled code checks a declared type at the attribute
        url: Any = httptools.parse_url(self.url)
        given_path: bytes | None = url.path
        query: bytes | None = url.query
        raw_path = given_path or b"/"
        path = raw_path.decode("ascii")
        if "%" in path:
            path = unquote(path)
        root = self.root_path
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": version,
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "method": self.method.decode("ascii"),
            "root_path": root,
            "path": root + path if root else path,
            "raw_path": root.encode("ascii") + raw_path if root else raw_path,
            "query_string": query or b"",
            "headers": self.headers,
            "state": self.app_state.copy(),
        }
        # HTTP/1.0: kept alive only when it asked (httptools reads its `Connection: keep-alive`), and
        # never sent `100 Continue`, which it cannot know
        legacy = version == "1.0"
        exchange = Exchange(self, scope, keep_alive, self.expect_continue and not legacy, legacy)
        self.reading = exchange
        self.body_since = self.loop.time()
        self.body_received = 0
        if self.active is None:
            self._start(exchange)
        else:  # pipelined: it waits, and nothing more is read until its turn
            self.queue.append(exchange)
            self._pause_reading()

    def on_body(self, body: bytes) -> None:
        reading = self.reading
        if reading is not None:
            self.body_received += len(body)
            reading.feed(body)
            if reading.body_size > BODY_HIGH_WATER:
                self._pause_reading()

    def on_message_complete(self) -> None:
        reading = self.reading
        if reading is not None:
            self.reading = None
            reading.end_of_body()

    # --- running the application -----------------------------------------------------------------
    def _start(self, exchange: Exchange) -> None:
        self.active = exchange
        app = self.app
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            log.warning("concurrency limit of %d exceeded: 503", limit)
            app = _service_unavailable
        task = self.loop.create_task(self._serve(exchange, app))
        exchange.task = task
        self.tasks.add(task)

    async def _serve(self, exchange: Exchange, app: App) -> None:
        try:
            await app(exchange.scope, exchange.receive, exchange.send)
        except asyncio.CancelledError:
            self._failed(exchange)
            raise
        except Exception as exc:  # the application's own failure: logged, and never a hung client
            log.error("the ASGI application failed on %s %s", exchange.scope["method"],
                      exchange.scope["path"], exc_info=exc)
            self._failed(exchange)
        else:
            if not exchange.disconnected and not exchange.complete:
                log.error("the ASGI application returned without %s its response",
                          "completing" if exchange.started else "starting")
                self._failed(exchange)
        finally:
            task = exchange.task
            if task is not None:
                exchange.task = None
                self.tasks.discard(task)

    def _failed(self, exchange: Exchange) -> None:
        """A 500 when nothing of the response went out, else the connection closes mid-response."""
        transport = self.transport
        if exchange.complete or exchange.disconnected or transport.is_closing():
            return
        if exchange.started:
            exchange.flush_head()
        else:
            transport.write(plain_response(500, "Internal Server Error", self.default_header_lines()))
        exchange.complete = True
        transport.close()

    def response_complete(self, exchange: Exchange) -> None:
        """The exchange's last byte is written: the next pipelined request starts, or the connection
        idles (or closes, without keep-alive)."""
        self.server_state.total_requests += 1
        if self.active is exchange:
            self.active = None
        transport = self.transport
        if not exchange.keep_alive or transport.is_closing():
            transport.close()
            return
        if self.reading_paused:
            self._resume_reading()
        if self.queue:
            self._start(self.queue.popleft())
        else:
            self.idle_since = self.loop.time()
            if self.timer is None:
                self._arm_timer()

    def body_taken(self) -> None:
        """The application took the buffered body: read on (unless pipelined requests wait)."""
        if self.reading_paused and not self.queue:
            self._resume_reading()

    async def drained(self) -> None:
        """Until the transport's write buffer is below its low-water mark."""
        if not self.writing_paused:
            return
        waiter = self.drain_waiter
        if waiter is None:
            waiter = self.drain_waiter = self.loop.create_future()
        await waiter

    def default_header_lines(self) -> bytes:
        """uvicorn's `date` and `server` lines; it swaps in a new list each second."""
        source = self.server_state.default_headers
        if source is not self.defaults_source:
            self.defaults_source = source
            self.defaults = encode_defaults(source)
        return self.defaults

    # --- the rest --------------------------------------------------------------------------------
    def _asks_for_websocket(self) -> bool:
        if self.config.ws_protocol_class is None:
            return False
        return any(name == b"upgrade" and value.lower() == b"websocket" for name, value in self.headers)

    def _upgrade(self, rest: bytes) -> None:
        """After an upgrade request's head: uvicorn's WebSocket protocol takes the connection."""
        if not self.websocket:  # an upgrade answered as HTTP: the parser cannot go on past it
            self.parser = None
            if self.reading is not None:  # its body would never complete
                self.reading.lost()
            return
        if self.active is not None or self.queue:  # never after pipelined HTTP requests
            self.transport.close()
            return
        self.connections.discard(self)
        self._cancel_timer()
        self._cancel_body_timer()
        self.parser = None
        lines = [self.method, b" ", self.url, b" HTTP/1.1\r\n"]
        for name, value in self.headers:
            lines += (name, b": ", value, b"\r\n")
        lines.append(b"\r\n")
        protocol_class: Any = self.config.ws_protocol_class
        protocol = protocol_class(config=self.config, server_state=self.server_state, app_state=self.app_state)
        protocol.connection_made(self.transport)
        protocol.data_received(b"".join(lines) + rest)
        self.transport.set_protocol(protocol)

    def _refuse(self, status: int, text: str) -> None:
        """A request that cannot be parsed: answered (when nothing else is being answered), and the
        connection closes."""
        log.debug("refused a request with %d: %s", status, text)
        self.parser = None
        active = self.active
        if active is None:
            self.transport.write(plain_response(status, text, self.default_header_lines()))
            self.transport.close()
            return
        active.keep_alive = False  # the response in progress finishes, then the connection closes
        self.queue.clear()
        self._pause_reading()

    def _pause_reading(self) -> None:
        if not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused:
            self.reading_paused = False
            self.transport.resume_reading()
            if self.reading is not None:  # the body's clock starts again, with its grace
                self.body_since = self.loop.time()
                self.body_received = 0
                if self.body_timer is None:
                    self._arm_body_timer()

    def _wake_drain(self) -> None:
        waiter = self.drain_waiter
        if waiter is not None:
            self.drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _arm_timer(self) -> None:
        self.timer = self.loop.call_at(self.idle_since + self.keep_alive_timeout, self._on_timer)

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _on_timer(self) -> None:
        """Close a connection idle for the keep-alive time; a busy one re-arms when it is done."""
        self.timer = None
        if self.parser is None or self.active is not None or self.queue:
            return
        due = self.idle_since + self.keep_alive_timeout
        if self.loop.time() >= due - 0.001:
            self.transport.close()
        else:
            self._arm_timer()

    def _body_due(self) -> float:
        return self.body_since + self.keep_alive_timeout + self.body_received / MIN_BODY_RATE

    def _arm_body_timer(self) -> None:
        self.body_timer = self.loop.call_at(self._body_due(), self._on_body_timer)

    def _cancel_body_timer(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

    def _on_body_timer(self) -> None:
        """Refuse a body that fell behind the minimum rate; one on time re-arms for its new due time."""
        self.body_timer = None
        if self.reading is None or self.parser is None or self.reading_paused:
            return  # read whole, or the connection is done, or paused (resuming re-arms)
        if self.loop.time() >= self._body_due() - 0.001:
            self._body_too_slow()
        else:
            self._arm_body_timer()

    def _body_too_slow(self) -> None:
        """408 when nothing of the response went out (else the connection just closes); the
        application sees the client gone."""
        reading = self.reading
        assert reading is not None
        log.info("a request body arrived slower than %d bytes/s: 408, and the connection closes", MIN_BODY_RATE)
        self.reading = None
        self.parser = None
        self.queue.clear()
        reading.lost()
        active = self.active
        if active is None or not (active.started or active.complete):
            self.transport.write(plain_response(408, "Request body too slow.", self.default_header_lines()))
        self.transport.close()


async def _service_unavailable(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    body = b"Service Unavailable"
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % len(body)),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
