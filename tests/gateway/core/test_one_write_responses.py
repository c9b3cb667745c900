"""One `transport.write` per response (gateway.http_protocol): a head with a Content-Length goes out
with its body; a streaming (chunked) head goes out at once and its parts as they come; HEAD, 204 and
304 responses, keep-alive and `100 Continue` are as before. In process against a fake transport, then
a real gateway process (two workers: the protocol is given by import string) over a raw socket."""

from __future__ import annotations

import asyncio
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

from gateway.http_protocol import IMPORT_STRING, OneWriteHttpToolsProtocol

from . import shop
from .harness import RunningServer

REPO_ROOT = Path(__file__).resolve().parents[3]
Scope = dict[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class Connection:
    """The protocol on a fake transport, in this test's own event loop."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop) -> None:
        config = Config(app, http=IMPORT_STRING, lifespan="off", log_config=None, access_log=False)
        config.load()
        assert config.http_protocol_class is OneWriteHttpToolsProtocol
        self.loop = loop
        self.state = ServerState()
        self.transport = FakeTransport()
        self.protocol = OneWriteHttpToolsProtocol(config, self.state, {}, loop)
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


def test_the_options_give_uvicorn_the_one_write_protocol() -> None:
    from gateway.__main__ import _uvicorn_options, build_parser
    from gateway.config import Settings

    args = build_parser().parse_args(["serve", "--supergraph", "x.graphql"])
    options = _uvicorn_options(args, Settings.from_env({}))
    assert options["http"] == IMPORT_STRING  # a string: a spawned worker imports it again
    config = Config(plain(200, b""), **options)
    config.load()
    assert config.http_protocol_class is OneWriteHttpToolsProtocol


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
