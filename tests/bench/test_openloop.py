"""The open-loop load generator (bench/openloop/openloop.c through bench/gateway/openloop.py) against real
HTTP/1.1 servers on 127.0.0.1: its schedule, its coordinated-omission correction, its response parsing
(Content-Length, chunked, until EOF) and its error accounting. Each run lasts one to three seconds."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.gateway import openloop
from bench.gateway.openloop import OpenLoopResult, build, run_open_loop

pytestmark = pytest.mark.skipif(
    openloop.compiler() is None, reason="no C compiler (cc or gcc) to build bench/openloop/openloop.c"
)

BODY = '{"query":"{ topProducts(first: 5) { upc name } }"}'
ANSWER = b'{"data":{"ok":true}}'
NO_ERRORS = {"connect": 0, "read": 0, "timeout": 0, "status": 0}


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client_port: int


Respond = Callable[["Handler"], None]
Serve = Callable[[Respond], "Server"]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, respond: Respond) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.respond = respond
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # set when the test ends: frees handlers that never answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/graphql"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        with self.server.lock:
            self.server.received.append(Received(self.path, headers, body, self.client_address[1]))
        self.server.respond(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


def head(status: int = 200, *headers: str) -> bytes:
    return "".join([f"HTTP/1.1 {status} X\r\n", *(f"{h}\r\n" for h in headers), "\r\n"]).encode()


def answer(handler: Handler, status: int = 200, *headers: str, trailing: bytes = b"") -> None:
    """The whole response in one write."""
    handler.wfile.write(head(status, f"Content-Length: {len(ANSWER)}", *headers) + ANSWER + trailing)
    if "Connection: close" in headers:
        handler.close_connection = True


def delayed(seconds: float) -> Respond:
    def respond(handler: Handler) -> None:
        time.sleep(seconds)  # the server's processing time, not synchronisation
        answer(handler)

    return respond


CHUNKED = (
    head(200, "Content-Type: application/json", "Transfer-Encoding: chunked"),
    b"8;name=value\r\n", b'{"data":', b"\r\n",
    b"A\r\n", b'{"ok":true', b"\r\n",
    b"2 ; last\r\n", b"}}", b"\r\n",
    b"0\r\n", b"X-Checksum: 1234\r\n", b"\r\n",
)


def chunked(piece: int | None) -> Respond:
    """A chunked answer with chunk extensions and a trailer, written a part of CHUNKED at a time, or
    `piece` bytes at a time (splitting sizes, CRLFs and data across reads)."""
    parts = list(CHUNKED) if piece is None else _pieces(b"".join(CHUNKED), piece)

    def respond(handler: Handler) -> None:
        for part in parts:
            handler.wfile.write(part)
            time.sleep(0.0005)  # so that the parts arrive in separate reads, as a slow server would send them
    return respond


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def until_eof(handler: Handler) -> None:
    handler.wfile.write(head(200, "Connection: close") + ANSWER)
    handler.close_connection = True


def never(handler: Handler) -> None:
    handler.server.release.wait()
    handler.close_connection = True


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build(tmp_path_factory.mktemp("openloop"))
    assert built is not None
    return built


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[Server] = []

    def start(respond: Respond) -> Server:
        server = Server(respond)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


def load(
    binary: Path, server: Server, rate: float, duration: float, connections: int = 8, warmup: float = 0.0,
    timeout: float = 5.0,
) -> OpenLoopResult:
    return run_open_loop(binary, server.url, BODY, rate, connections, duration, warmup, timeout=timeout)


def test_fixed_rate_requests_reach_the_server_with_the_body_and_headers(binary: Path, serve: Serve) -> None:
    server = serve(answer)
    result = run_open_loop(binary, server.url, BODY, rate=200, connections=4, duration=2.0, warmup=0.5,
                           headers={"X-Bench-Run": "abc123"})
    assert result.scheduled == 400
    assert abs(result.sent - 400) <= 20
    assert result.completed == result.sent
    assert result.errors == 0 and result.error_kinds == NO_ERRORS
    assert result.achieved_rps == pytest.approx(200, rel=0.05)
    assert result.warmup_sent == 100
    assert len(server.received) == result.completed + result.warmup_sent
    port = server.server_address[1]
    for request in server.received:
        assert request.path == "/graphql"
        assert request.body == BODY.encode()
        assert request.headers["x-bench-run"] == "abc123"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["host"] == f"127.0.0.1:{port}"
    assert result.p50_ms is not None and result.max_ms is not None
    assert 0 < result.p50_ms <= result.max_ms
    assert result.send_lag_p99_ms is not None and result.send_lag_p99_ms <= result.max_send_lag_ms


def test_every_connection_is_used_in_turn(binary: Path, serve: Serve) -> None:
    """Idle connections are a FIFO: each one is used every `connections` requests, so none sits idle
    long enough for a server's keep-alive timeout to close it under a request."""
    server = serve(answer)
    result = load(binary, server, rate=100, duration=1.0, connections=5)
    assert result.errors == 0 and result.completed == len(server.received)
    ports = [request.client_port for request in server.received]
    assert len(set(ports)) == 5
    first = ports[:5]
    assert len(set(first)) == 5 and ports[5:10] == first  # round robin, in the same order


def test_latency_includes_the_servers_delay(binary: Path, serve: Serve) -> None:
    server = serve(delayed(0.020))
    result = load(binary, server, rate=100, duration=1.0, connections=16, warmup=0.2)
    assert result.queued == 0
    assert result.errors == 0 and result.completed == result.scheduled == 100
    assert result.p50_ms is not None and 20 <= result.p50_ms < 60
    assert result.service_p50_ms is not None and 20 <= result.service_p50_ms < 60


def test_coordinated_omission_is_corrected(binary: Path, serve: Serve) -> None:
    """One connection, 50 ms per request, 100 requests/s: the server manages 20/s, so requests queue and
    their latency, counted from the intended time, grows; the service time stays the server's 50 ms."""
    server = serve(delayed(0.050))
    result = load(binary, server, rate=100, duration=0.5, connections=1)
    assert result.completed == result.scheduled == 50
    assert result.errors == 0
    assert result.queued > 0 and result.max_queue > 1
    assert result.p99_ms is not None and result.p99_ms >= 200
    assert result.service_p50_ms is not None and 50 <= result.service_p50_ms < 90
    assert result.achieved_rps < 30  # the server's pace, not the offered rate
    assert result.max_queue_wait_ms >= 200


@pytest.mark.parametrize("piece", [None, 3], ids=["chunk-per-write", "3-bytes-per-write"])
def test_chunked_responses_split_across_reads_complete(binary: Path, serve: Serve, piece: int | None) -> None:
    server = serve(chunked(piece))
    result = load(binary, server, rate=100, duration=1.0)
    assert result.errors == 0, result.error_kinds
    assert result.completed == result.scheduled == 100


def test_a_stray_crlf_after_a_response_is_tolerated(binary: Path, serve: Serve) -> None:
    server = serve(lambda handler: answer(handler, 200, trailing=b"\r\n"))
    result = load(binary, server, rate=100, duration=1.0)
    assert result.errors == 0, result.error_kinds
    assert result.completed == result.scheduled == 100


def test_non_2xx_answers_are_status_errors(binary: Path, serve: Serve) -> None:
    server = serve(lambda handler: answer(handler, 500))
    result = load(binary, server, rate=100, duration=1.0)
    assert result.completed == result.scheduled == 100
    assert result.error_kinds == {**NO_ERRORS, "status": 100}
    assert result.errors == 100


@pytest.mark.parametrize(
    "respond", [lambda handler: answer(handler, 200, "Connection: close"), until_eof], ids=["content-length", "eof"]
)
def test_connection_close_reconnects_and_completes_every_request(binary: Path, serve: Serve, respond: Respond) -> None:
    server = serve(respond)
    result = load(binary, server, rate=100, duration=1.0, connections=4)
    assert result.errors == 0, result.error_kinds
    assert result.completed == result.scheduled == 100
    assert len({request.client_port for request in server.received}) == len(server.received) == 100


def test_unanswered_requests_are_timeouts(binary: Path, serve: Serve) -> None:
    server = serve(never)
    result = load(binary, server, rate=20, duration=0.5, connections=2, timeout=0.5)
    assert result.scheduled == 10
    assert result.completed == 0
    assert result.error_kinds == {**NO_ERRORS, "timeout": 10}
    assert result.p50_ms is None and result.service_p99_ms is None


def test_refused_connections_are_connect_errors(binary: Path) -> None:
    with socket.socket() as bound:  # bound, never listening: connects to its port are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/"
        result = run_open_loop(binary, url, BODY, rate=20, connections=2, duration=0.5, warmup=0.0, timeout=0.5)
    assert result.error_kinds["connect"] > 0
    assert result.sent == 0 and result.error_kinds["timeout"] == result.scheduled == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0"], "--rate"),
        (["--url", "https://127.0.0.1:1/"], "http://"),
        (["--connections", "0"], "--connections"),
        (["--header", "no colon"], "--header"),
        (["--bogus", "1"], "unknown option"),
    ],
)
def test_bad_arguments_exit_2(binary: Path, tmp_path: Path, args: list[str], message: str) -> None:
    body = tmp_path / "body.json"
    body.write_text(BODY)
    base = {"--url": "http://127.0.0.1:1/", "--body-file": str(body), "--rate": "10", "--connections": "1",
            "--duration": "1"}
    for name, value in zip(args[::2], args[1::2], strict=True):
        base[name] = value
    argv = [str(binary), *(item for pair in base.items() for item in pair)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""


def test_build_is_skipped_when_the_binary_is_newer_than_the_source(binary: Path) -> None:
    before = binary.stat().st_mtime_ns
    assert build(binary.parent) == binary
    assert binary.stat().st_mtime_ns == before


def test_build_returns_none_without_a_compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert openloop.compiler() is None
    assert build(tmp_path / "out") is None


def test_build_raises_with_the_compilers_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.c"
    broken.write_text("int main(void) { return undeclared_name; }\n")
    monkeypatch.setattr(openloop, "SOURCE", broken)
    with pytest.raises(RuntimeError, match="undeclared_name"):
        build(tmp_path / "out")
    assert not (tmp_path / "out" / "openloop").exists()
