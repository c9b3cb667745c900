"""The gateway's HTTP/1.1 protocol (gateway.http1): one `transport.write` per small response (a head
with a Content-Length goes out with its body; a streaming head at once, its parts as they come), HEAD,
204 and 304, keep-alive, pipelining, `100 Continue`, request bodies read as the application takes
them, and the guards (a head's size, the idle and head timeouts, malformed requests, bad heads from
the application). In process against a fake transport, then a real gateway process (two workers: the
protocol is given by import string) over raw sockets and a WebSocket."""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from gateway.http1 import IMPORT_STRING, UVICORN_HTTPTOOLS
from gateway.http1.connection import BODY_HIGH_WATER, MAX_HEAD_BYTES, MIN_BODY_RATE, HttpConnection

from . import shop
from .harness import RunningServer

REPO_ROOT = Path(__file__).resolve().parents[3]
Scope = dict[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.paused = False
        self.protocol: Any = None

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        if not self.closed and self.protocol is not None:  # as a real transport does, soon after
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol


class Connection:
    """The protocol on a fake transport, in this test's own event loop."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop, **options: Any) -> None:
        config = Config(app, http=IMPORT_STRING, lifespan="off", log_config=None, access_log=False, **options)
        config.load()
        assert config.http_protocol_class is HttpConnection
        self.loop = loop
        self.state = ServerState()
        self.transport = FakeTransport()
        self.protocol = HttpConnection(config, self.state, {}, loop)
        self.transport.protocol = self.protocol
        self.protocol.connection_made(self.transport)  # type: ignore[arg-type]

    async def settle(self) -> None:
        deadline = time.monotonic() + 5
        while self.state.tasks:
            assert time.monotonic() < deadline, "the app did not finish"
            await asyncio.sleep(0)

    async def request(self, raw: bytes) -> list[bytes]:
        before = len(self.transport.writes)
        self.protocol.data_received(raw)
        await self.settle()
        return self.transport.writes[before:]


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


async def answer(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = headers if headers is not None else [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def plain(status: int, body: bytes) -> App:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await answer(send, status, body if scope["method"] != "HEAD" else b"",
                     [(b"content-length", str(len(body)).encode())])
    return app


GET = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"


def test_a_response_with_a_content_length_is_one_write_and_keep_alive_holds() -> None:
    async def main() -> None:
        conn = Connection(plain(200, b'{"data":{}}'), asyncio.get_running_loop())
        first = await conn.request(GET)
        second = await conn.request(GET)
        assert len(first) == 1 and len(second) == 1
        head, _, body = first[0].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 11" in head and body == b'{"data":{}}'
        assert first == second and not conn.transport.closed
    run(main())


def test_a_4xx_and_connection_close_are_one_write_then_the_close() -> None:
    async def main() -> None:
        conn = Connection(plain(400, b'{"errors":[]}'), asyncio.get_running_loop())
        (write,) = await conn.request(b"POST / HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}")
        assert write.startswith(b"HTTP/1.1 400 Bad Request\r\n") and write.endswith(b'\r\n\r\n{"errors":[]}')
        assert b"connection: close" in write and conn.transport.closed
    run(main())


@pytest.mark.parametrize("close", [False, True])
def test_head_204_and_304_write_their_head_once(close: bool) -> None:
    async def no_body(scope: Scope, receive: Any, send: Any) -> None:
        status = {"/empty": 204, "/same": 304}.get(scope["path"], 200)
        headers = [(b"content-length", b"11")] if status == 200 else []
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> None:
        conn = Connection(no_body, asyncio.get_running_loop())
        extra = b"connection: close\r\n" if close else b""
        for request, status in ((b"HEAD / HTTP/1.1\r\nhost: x\r\n", b"200 OK"),
                                (b"GET /empty HTTP/1.1\r\nhost: x\r\n", b"204 No Content"),
                                (b"GET /same HTTP/1.1\r\nhost: x\r\n", b"304 Not Modified")):
            if conn.transport.closed:
                conn = Connection(no_body, asyncio.get_running_loop())
            (write,) = await conn.request(request + extra + b"\r\n")
            assert write.startswith(b"HTTP/1.1 " + status) and write.endswith(b"\r\n\r\n")
            assert b"transfer-encoding" not in write and conn.transport.closed is close
    run(main())


def test_a_streaming_response_writes_its_head_and_first_part_before_the_rest() -> None:
    async def main() -> None:
        more = asyncio.Event()

        async def stream(scope: Scope, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
            await more.wait()
            await send({"type": "http.response.body", "body": b"data: 2\n\n", "more_body": False})

        conn = Connection(stream, asyncio.get_running_loop())
        conn.protocol.data_received(GET)
        deadline = time.monotonic() + 5
        while len(conn.transport.writes) < 2:
            assert time.monotonic() < deadline, conn.transport.writes
            await asyncio.sleep(0)
        head, part = conn.transport.writes
        assert head.startswith(b"HTTP/1.1 200 OK") and b"transfer-encoding: chunked" in head
        assert head.endswith(b"\r\n\r\n") and part == b"9\r\ndata: 1\n\n\r\n"
        more.set()
        await conn.settle()
        assert conn.transport.writes[2:] == [b"9\r\ndata: 2\n\n\r\n0\r\n\r\n"]
    run(main())


def test_a_head_waiting_for_a_slow_first_stream_part_is_already_out() -> None:
    """SSE: the client sees the head (EventSource's `open`) before the first event exists."""
    async def main() -> None:
        first = asyncio.Event()

        async def stream(scope: Scope, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            await first.wait()
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        conn = Connection(stream, asyncio.get_running_loop())
        conn.protocol.data_received(GET)
        deadline = time.monotonic() + 5
        while not conn.transport.writes:
            assert time.monotonic() < deadline
            await asyncio.sleep(0)
        assert conn.transport.writes[0].startswith(b"HTTP/1.1 200 OK")
        first.set()
        await conn.settle()
        assert conn.transport.writes[1:] == [b"0\r\n\r\n"]
    run(main())


def test_content_length_in_parts_joins_the_head_with_the_first_part_only() -> None:
    async def parts(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"6")]})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"def"})

    async def main() -> None:
        conn = Connection(parts, asyncio.get_running_loop())
        first, second = await conn.request(GET)
        assert first.endswith(b"\r\n\r\nabc") and second == b"def"
    run(main())


def test_pipelined_requests_are_answered_in_order_one_write_each() -> None:
    async def echo_path(scope: Scope, receive: Any, send: Any) -> None:
        await asyncio.sleep(0.01 if scope["path"] == "/slow" else 0)  # the first finishes last, if let
        await answer(send, 200, scope["path"].encode())

    async def main() -> None:
        conn = Connection(echo_path, asyncio.get_running_loop())
        pipelined = b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\nGET /fast HTTP/1.1\r\nhost: x\r\n\r\n"
        first, second = await conn.request(pipelined)
        assert first.endswith(b"\r\n\r\n/slow") and second.endswith(b"\r\n\r\n/fast")
    run(main())


def test_a_head_left_without_its_body_still_goes_out_before_the_close() -> None:
    async def unfinished(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})

    async def main() -> None:
        conn = Connection(unfinished, asyncio.get_running_loop())
        (write,) = await conn.request(GET)  # uvicorn closes a response the app did not complete
        assert write.startswith(b"HTTP/1.1 200 OK") and write.endswith(b"\r\n\r\n") and conn.transport.closed
    run(main())


def test_100_continue_goes_before_the_response() -> None:
    async def main() -> None:
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        conn.protocol.data_received(b"POST / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n")
        deadline = time.monotonic() + 5
        while not conn.transport.writes:
            assert time.monotonic() < deadline
            await asyncio.sleep(0)
        assert conn.transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        conn.protocol.data_received(b"{}")
        await conn.settle()
        (_, response) = conn.transport.writes
        assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(b"\r\n\r\nok")
    run(main())


def test_an_app_failing_before_its_response_answers_500_in_one_write() -> None:
    async def failing(scope: Scope, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def main() -> None:
        conn = Connection(failing, asyncio.get_running_loop())
        (write,) = await conn.request(GET)
        assert write.startswith(b"HTTP/1.1 500") and write.endswith(b"Internal Server Error")
        assert conn.transport.closed
    run(main())


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


def body_length() -> App:
    """Reads the whole body, message by message, and answers with what it got."""
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        parts: list[bytes] = []
        while True:
            message = await receive()
            parts.append(message["body"])
            if not message["more_body"]:
                break
        body = b"".join(parts)
        await answer(send, 200, b"%d:%b" % (len(body), body[:16]))
    return app


def test_a_body_past_the_high_water_mark_pauses_reading_until_the_app_takes_it() -> None:
    async def main() -> None:
        conn = Connection(body_length(), asyncio.get_running_loop())
        size = BODY_HIGH_WATER + 10
        conn.protocol.data_received(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % size)
        conn.protocol.data_received(b"a" * size)  # before the app's task has run
        assert conn.transport.paused
        await conn.settle()
        (write,) = conn.transport.writes
        assert write.endswith(b"\r\n\r\n%d:aaaaaaaaaaaaaaaa" % size) and not conn.transport.paused
    run(main())


def test_a_chunked_request_body_reaches_the_app_whole_and_in_order() -> None:
    async def main() -> None:
        conn = Connection(body_length(), asyncio.get_running_loop())
        (write,) = await conn.request(b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                                      b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert write.endswith(b"\r\n\r\n11:hello world")
    run(main())


def test_a_request_head_over_the_limit_gets_431_and_the_connection_closes() -> None:
    async def main() -> None:
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        (write,) = await conn.request(b"GET / HTTP/1.1\r\nx-big: %b\r\n\r\n" % (b"a" * (MAX_HEAD_BYTES + 1)))
        assert write.startswith(b"HTTP/1.1 431") and conn.transport.closed
        # one header that never ends, fed in pieces: cut off, not buffered without bound
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        conn.protocol.data_received(b"GET / HTTP/1.1\r\nx-endless: ")
        for _ in range(4 * MAX_HEAD_BYTES // 8192):
            if conn.transport.closed:
                break
            conn.protocol.data_received(b"a" * 8192)
        assert conn.transport.closed and conn.transport.writes[0].startswith(b"HTTP/1.1 431")
    run(main())


@pytest.mark.parametrize("raw", [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\ncontent-length: x\r\n\r\n",
                                 b"GET /\xff HTTP/1.1\r\n\r\n"])
def test_a_malformed_request_gets_400_and_the_connection_closes(raw: bytes) -> None:
    async def main() -> None:
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        (write,) = await conn.request(raw)
        assert write.startswith(b"HTTP/1.1 400 Bad Request") and conn.transport.closed
        assert not conn.state.tasks
    run(main())


def test_an_idle_connection_and_a_head_that_never_completes_close_after_the_keep_alive_time() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        conn = Connection(plain(200, b"ok"), loop, timeout_keep_alive=0.3)
        await conn.request(GET)
        answered = loop.time()
        await until(lambda: conn.transport.closed, "the idle connection stays open")
        assert loop.time() - answered >= 0.25
        trickled = Connection(plain(200, b"ok"), loop, timeout_keep_alive=0.3)
        trickled.protocol.data_received(b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: ")  # and nothing more
        await until(lambda: trickled.transport.closed, "the incomplete head holds the connection")
        assert trickled.transport.writes == []
    run(main())


def test_a_body_trickled_below_the_minimum_rate_gets_408_and_the_app_sees_the_client_gone() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        seen: list[str] = []

        async def reads(scope: Scope, receive: Any, send: Any) -> None:
            while True:
                message = await receive()
                seen.append(message["type"])
                if message["type"] == "http.disconnect" or not message.get("more_body"):
                    break
            await answer(send, 200, b"never sent")

        conn = Connection(reads, loop, timeout_keep_alive=0.3)
        conn.protocol.data_received(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n")
        began = loop.time()
        conn.protocol.data_received(b"{")  # and nothing more for a while
        await until(lambda: conn.transport.closed, "the trickled body holds the connection")
        assert loop.time() - began >= 0.25
        await conn.settle()
        (write,) = conn.transport.writes
        assert write.startswith(b"HTTP/1.1 408") and write.endswith(b"Request body too slow.")
        assert seen[-1] == "http.disconnect"
    run(main())


def test_a_body_arriving_at_the_minimum_rate_is_read_whole_past_the_grace() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        conn = Connection(body_length(), loop, timeout_keep_alive=0.2)
        step, parts = MIN_BODY_RATE // 5, 6  # a fifth of the rate every 0.1 s: twice the minimum, over 0.6 s
        conn.protocol.data_received(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % (step * parts))
        for _ in range(parts):
            await asyncio.sleep(0.1)  # the client's pace, the thing under test
            assert not conn.transport.closed
            conn.protocol.data_received(b"a" * step)
        await conn.settle()
        (write,) = conn.transport.writes
        assert write.startswith(b"HTTP/1.1 200") and write.endswith(b"%d:aaaaaaaaaaaaaaaa" % (step * parts))
        assert not conn.transport.closed
    run(main())


def test_a_body_held_up_by_a_slow_app_is_not_cut_off() -> None:
    """Reading pauses past the high-water mark; the client cannot send then, so its clock stops."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        inner = body_length()

        async def slow(scope: Scope, receive: Any, send: Any) -> None:
            await asyncio.sleep(0.5)  # longer than the grace below, before it reads anything
            await inner(scope, receive, send)

        conn = Connection(slow, loop, timeout_keep_alive=0.2)
        size = BODY_HIGH_WATER * 2
        conn.protocol.data_received(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % size)
        conn.protocol.data_received(b"a" * (BODY_HIGH_WATER + 1))
        assert conn.transport.paused
        await until(lambda: not conn.transport.paused, "reading never resumed")
        conn.protocol.data_received(b"a" * (size - BODY_HIGH_WATER - 1))
        await conn.settle()
        (write,) = conn.transport.writes
        assert write.startswith(b"HTTP/1.1 200") and write.endswith(b"%d:aaaaaaaaaaaaaaaa" % size)
    run(main())


def test_a_response_slower_than_the_keep_alive_time_is_not_cut_off() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def slow(scope: Scope, receive: Any, send: Any) -> None:
            await asyncio.sleep(0.5)  # the app's own slowness: longer than the keep-alive time below
            await answer(send, 200, b"late")

        conn = Connection(slow, loop, timeout_keep_alive=0.2)
        (write,) = await conn.request(GET)
        assert write.endswith(b"\r\n\r\nlate") and not conn.transport.closed
    run(main())


def test_a_receive_waiting_when_the_client_goes_away_returns_http_disconnect() -> None:
    async def main() -> None:
        seen: list[str] = []

        async def waits(scope: Scope, receive: Any, send: Any) -> None:
            await receive()  # the (empty) body
            seen.append((await receive())["type"])  # then: until the client leaves

        conn = Connection(waits, asyncio.get_running_loop())
        conn.protocol.data_received(GET)
        await until(lambda: bool(conn.state.tasks), "the app did not start")
        for _ in range(3):
            await asyncio.sleep(0)
        assert seen == []
        conn.protocol.connection_lost(None)
        await conn.settle()
        assert seen == ["http.disconnect"] and conn.transport.writes == []
    run(main())


def test_a_request_followed_by_eof_is_answered_then_the_connection_closes() -> None:
    async def main() -> None:
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        conn.protocol.data_received(GET)
        assert conn.protocol.eof_received() is True  # half-closed: keep the transport for the answer
        await conn.settle()
        (write,) = conn.transport.writes
        assert write.endswith(b"\r\n\r\nok") and b"connection: close" in write and conn.transport.closed
        idle = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        assert idle.protocol.eof_received() is None  # nothing to answer: the transport closes
    run(main())


def test_eof_during_a_streaming_response_is_the_client_leaving() -> None:
    """A client that closes an SSE stream sends its FIN: the stream ends, the app sees a disconnect."""
    async def main() -> None:
        seen: list[str] = []

        async def stream(scope: Scope, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
            await receive()
            seen.append((await receive())["type"])

        conn = Connection(stream, asyncio.get_running_loop())
        conn.protocol.data_received(GET)
        await until(lambda: len(conn.transport.writes) == 2, "the stream did not start")
        assert conn.protocol.eof_received() is None  # the transport closes (connection_lost follows)
        conn.transport.close()
        await conn.settle()
        assert seen == ["http.disconnect"]
    run(main())


def test_http_1_0_is_answered_and_closed() -> None:
    async def main() -> None:
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        (write,) = await conn.request(b"GET / HTTP/1.0\r\n\r\n")
        assert write.startswith(b"HTTP/1.1 200 OK") and b"connection: close" in write and conn.transport.closed
    run(main())


def test_http_1_0_asking_for_keep_alive_is_told_so_and_kept() -> None:
    """As `ab -k` asks: without the echoed header an HTTP/1.0 client closes after each response."""
    async def main() -> None:
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        for _ in range(2):
            (write,) = await conn.request(b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
            head, _, body = write.partition(b"\r\n\r\n")
            assert b"connection: keep-alive" in head.split(b"\r\n") and body == b"ok"
            assert not conn.transport.closed
        (write,) = await conn.request(b"GET / HTTP/1.0\r\n\r\n")  # this one did not ask
        assert b"connection: close" in write and conn.transport.closed
    run(main())


def test_a_stream_to_http_1_0_is_not_chunked_and_ends_with_the_close() -> None:
    """HTTP/1.0 has no chunked coding: a body of unknown length is delimited by the close."""
    async def main() -> None:
        async def stream(scope: Scope, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
            await send({"type": "http.response.body", "body": b"data: 2\n\n", "more_body": False})

        conn = Connection(stream, asyncio.get_running_loop())
        head, *parts = await conn.request(b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and head.endswith(b"\r\n\r\n")
        assert b"transfer-encoding" not in head and b"connection: close" in head
        assert parts == [b"data: 1\n\n", b"data: 2\n\n"] and conn.transport.closed
    run(main())


def test_http_1_0_is_never_sent_100_continue() -> None:
    async def main() -> None:
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        writes = await conn.request(b"POST / HTTP/1.0\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\nhi")
        assert len(writes) == 1 and writes[0].startswith(b"HTTP/1.1 200 OK")
    run(main())


@pytest.mark.parametrize("header", [(b"x-evil", b"a\r\nset-cookie: stolen=1"), (b"bad name", b"v"),
                                    (b"x-nul", b"a\x00b")])
def test_a_head_with_a_bad_header_from_the_app_is_never_sent(header: tuple[bytes, bytes]) -> None:
    async def injecting(scope: Scope, receive: Any, send: Any) -> None:
        await answer(send, 200, b"ok", [header, (b"content-length", b"2")])

    async def main() -> None:
        conn = Connection(injecting, asyncio.get_running_loop())
        (write,) = await conn.request(GET)
        assert write.startswith(b"HTTP/1.1 500") and b"stolen" not in write and conn.transport.closed
    run(main())


def test_a_body_longer_than_its_content_length_is_never_sent() -> None:
    async def too_long(scope: Scope, receive: Any, send: Any) -> None:
        await answer(send, 200, b"abcdef", [(b"content-length", b"2")])

    async def main() -> None:
        conn = Connection(too_long, asyncio.get_running_loop())
        writes = await conn.request(GET)
        assert b"abcdef" not in b"".join(writes) and conn.transport.closed
    run(main())


def test_an_upgrade_it_does_not_speak_is_answered_as_http_then_the_connection_closes() -> None:
    async def main() -> None:
        conn = Connection(plain(200, b"ok"), asyncio.get_running_loop())
        (write,) = await conn.request(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: h2c\r\n\r\n")
        assert write.startswith(b"HTTP/1.1 200 OK") and write.endswith(b"\r\n\r\nok") and conn.transport.closed
    run(main())


def test_shutdown_lets_the_response_in_progress_finish_then_closes() -> None:
    async def main() -> None:
        release = asyncio.Event()

        async def held(scope: Scope, receive: Any, send: Any) -> None:
            await release.wait()
            await answer(send, 200, b"done")

        conn = Connection(held, asyncio.get_running_loop())
        conn.protocol.data_received(GET)
        await until(lambda: bool(conn.state.tasks), "the app did not start")
        conn.protocol.shutdown()
        assert not conn.transport.closed
        release.set()
        await conn.settle()
        (write,) = conn.transport.writes
        assert write.endswith(b"\r\n\r\ndone") and b"connection: close" in write and conn.transport.closed
        idle = Connection(held, asyncio.get_running_loop())
        idle.protocol.shutdown()
        assert idle.transport.closed
    run(main())


def test_past_the_concurrency_limit_a_request_gets_503() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        (write,) = await Connection(plain(200, b"ok"), loop, limit_concurrency=2).request(GET)
        assert write.startswith(b"HTTP/1.1 200")
        (write,) = await Connection(plain(200, b"ok"), loop, limit_concurrency=1).request(GET)
        assert write.startswith(b"HTTP/1.1 503") and b"connection: close" in write
    run(main())


def test_the_scope_carries_the_decoded_path_the_raw_path_and_the_query() -> None:
    async def main() -> None:
        scopes: list[Scope] = []

        async def records(scope: Scope, receive: Any, send: Any) -> None:
            scopes.append(scope)
            await answer(send, 200, b"")

        conn = Connection(records, asyncio.get_running_loop(), root_path="/api")
        await conn.request(b"GET /a%20b/c?x=1&y=%20 HTTP/1.1\r\nHost: x\r\nX-Mixed-Case: V\r\n\r\n")
        await conn.request(b"GET http://x HTTP/1.1\r\nhost: x\r\n\r\n")  # absolute form, no path
        first, second = scopes
        assert (first["path"], first["raw_path"], first["query_string"]) == ("/api/a b/c", b"/api/a%20b/c",
                                                                             b"x=1&y=%20")
        assert first["method"] == "GET" and first["http_version"] == "1.1" and first["root_path"] == "/api"
        assert (b"x-mixed-case", b"V") in first["headers"] and first["client"] == ("127.0.0.1", 50000)
        assert second["path"] == "/api/" and second["query_string"] == b""
    run(main())


@pytest.mark.parametrize("seed", range(20))
def test_requests_split_anywhere_across_reads_are_answered_whole_and_in_order(seed: int) -> None:
    """However the bytes of pipelined requests (heads, chunked and sized bodies) are cut into reads,
    each request reaches the app whole and the answers come back in order."""
    rng = random.Random(seed)
    stream = b""
    expected: list[bytes] = []
    for index in range(6):
        body = bytes(rng.randrange(97, 123) for _ in range(rng.randrange(0, 300)))
        if rng.random() < 0.5:
            framing = b"content-length: %d\r\n\r\n%b" % (len(body), body)
        else:
            cut = len(body) // 2
            framing = b"transfer-encoding: chunked\r\n\r\n"
            for part in (body[:cut], body[cut:]):
                if part:
                    framing += b"%x\r\n%b\r\n" % (len(part), part)
            framing += b"0\r\n\r\n"
        stream += b"POST /r%d HTTP/1.1\r\nhost: x\r\nx-pad: %b\r\n%b" % (index, b"p" * rng.randrange(0, 200), framing)
        expected.append(b"%d:%b" % (len(body), body[:16]))

    async def main() -> None:
        conn = Connection(body_length(), asyncio.get_running_loop())
        position = 0
        while position < len(stream):
            step = rng.randrange(1, 64)
            conn.protocol.data_received(stream[position:position + step])
            position += step
            await asyncio.sleep(0)  # the app runs between reads, as it would on a socket
        await until(lambda: len(conn.transport.writes) == len(expected), "not every request was answered")
        await conn.settle()
        assert [write.split(b"\r\n\r\n", 1)[1] for write in conn.transport.writes] == expected
        assert not conn.transport.closed
    run(main())


# --- a real gateway process ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    accounts = RunningServer(shop.accounts()).start()
    workdir = tmp_path_factory.mktemp("one-write")
    supergraph = workdir / "supergraph.graphql"
    supergraph.write_text(shop.SUPERGRAPH)
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "SUBGRAPH_URLS": f"accounts={accounts.url}"}
    log = (workdir / "gateway.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--supergraph", str(supergraph), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "2"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (workdir / "gateway.log").read_text()
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (workdir / "gateway.log").read_text()
            time.sleep(0.05)  # polling the readiness probe, with a deadline
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        accounts.stop()


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response with a Content-Length (head, body), however the bytes arrive."""
    data = b""
    deadline = time.monotonic() + 10
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            if len(body) >= length:
                return head, body
        assert time.monotonic() < deadline, data
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk


def one_read(sock: socket.socket) -> tuple[bytes, bytes]:
    """The first `recv` holds the whole response: head and body went out in one write, one segment."""
    data = sock.recv(65536)
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, data
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    assert len(body) == length, data
    return head, body


def test_the_options_give_uvicorn_the_gateway_protocol_or_on_request_its_own() -> None:
    from gateway.__main__ import _uvicorn_options, build_parser
    from gateway.config import Settings

    args = build_parser().parse_args(["serve", "--supergraph", "x.graphql"])
    options = _uvicorn_options(args, Settings.from_env({}))
    assert options["http"] == IMPORT_STRING  # a string: a spawned worker imports it again
    config = Config(plain(200, b""), **options)
    config.load()
    assert config.http_protocol_class is HttpConnection
    assert _uvicorn_options(args, Settings.from_env({"GATEWAY_HTTP": "uvicorn"}))["http"] == UVICORN_HTTPTOOLS
    with pytest.raises(ValueError, match="GATEWAY_HTTP"):
        Settings.from_env({"GATEWAY_HTTP": "h2"})


def test_the_gateway_answers_on_a_kept_alive_connection(gateway: str) -> None:
    port = int(gateway.rsplit(":", 1)[1])
    query = orjson.dumps({"query": "{ me { id } }"})
    post = (b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(query), query))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(3):  # keep-alive: the same connection, one answer each
            sock.sendall(post)
            head, body = one_read(sock)
            assert head.startswith(b"HTTP/1.1 200") and orjson.loads(body) == {"data": {"me": {"id": "1"}}}
        bad = orjson.dumps({"query": "{ nope }"})
        sock.sendall(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%s" % (len(bad), bad))
        head, body = one_read(sock)
        assert head.startswith(b"HTTP/1.1 400")
        assert orjson.loads(body)["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        sock.sendall(b"HEAD /health HTTP/1.1\r\nhost: x\r\n\r\n")
        data = b""
        deadline = time.monotonic() + 10
        while not data.endswith(b"\r\n\r\n"):
            assert time.monotonic() < deadline, data
            data += sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 200") and data.count(b"HTTP/1.1") == 1
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")  # still usable after the HEAD
        head, body = read_response(sock)
        assert orjson.loads(body) == {"status": "ok"}


def test_the_gateway_answers_a_trickled_body_with_408_after_the_grace(gateway: str) -> None:
    port = int(gateway.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: 4096\r\n\r\n{")  # and nothing more
        began = time.monotonic()
        data = b""
        while chunk := sock.recv(65536):  # until the gateway closes (the socket's timeout bounds it)
            data += chunk
        assert data.startswith(b"HTTP/1.1 408") and data.endswith(b"Request body too slow.")
        assert time.monotonic() - began >= 4.5  # uvicorn's 5 s keep-alive time is the grace


def test_the_gateway_keeps_an_http_1_0_connection_that_asks(gateway: str) -> None:
    port = int(gateway.rsplit(":", 1)[1])
    query = orjson.dumps({"query": "{ me { id } }"})
    post = (b"POST /graphql HTTP/1.0\r\nconnection: keep-alive\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(query), query))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(post)
            head, body = one_read(sock)
            assert b"connection: keep-alive" in head.lower().split(b"\r\n")
            assert orjson.loads(body) == {"data": {"me": {"id": "1"}}}


def test_pipelined_posts_on_one_connection_are_answered_in_order(gateway: str) -> None:
    port = int(gateway.rsplit(":", 1)[1])
    requests = b""
    for field in ("id", "name", "id"):
        query = orjson.dumps({"query": f"{{ me {{ {field} }} }}"})
        requests += (b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%s" % (len(query), query))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(requests)  # all three at once
        data = b""
        deadline = time.monotonic() + 10
        while data.count(b"HTTP/1.1 200") < 3 or not data.rstrip().endswith(b"}}}"):
            assert time.monotonic() < deadline, data
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in data.split(b"HTTP/1.1 ")[1:]]
    answers = [orjson.loads(body)["data"]["me"] for body in bodies]
    assert [sorted(answer) for answer in answers] == [["id"], ["name"], ["id"]]


def test_a_websocket_upgrade_is_handed_to_uvicorns_websocket_protocol(gateway: str) -> None:
    from websockets.sync.client import connect

    url = gateway.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:  # type: ignore[list-item]
        ws.send(orjson.dumps({"type": "connection_init"}).decode())
        assert orjson.loads(ws.recv(timeout=10)) == {"type": "connection_ack"}
        ws.send(orjson.dumps({"type": "ping"}).decode())
        assert orjson.loads(ws.recv(timeout=10))["type"] == "pong"


def test_a_body_over_the_limit_gets_413_and_the_connection_still_serves(gateway: str) -> None:
    """The gateway answers 413 from the Content-Length without reading the body; the protocol then
    reads the rest past it, so the next request on the connection is answered."""
    port = int(gateway.rsplit(":", 1)[1])
    size = 3_000_000  # over GATEWAY_MAX_REQUEST_BYTES (2,000,000)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % size)
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 413")
        assert orjson.loads(body)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        sock.sendall(b"x" * size)  # the body the client had already committed to
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        head, body = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and orjson.loads(body) == {"status": "ok"}

