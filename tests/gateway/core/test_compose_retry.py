"""`gateway serve --config` started before its subgraphs: it listens at once, is live but not ready,
retries composition (a log line per attempt naming the missing subgraph), and serves once composed;
past its deadline it exits non-zero."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.compose_retry import ComposeRetry, CompositionGaveUp, compose_until_ready
from gateway.composition import CompositionError, CompositionIssue, SubgraphUnavailable

from .harness import RunningServer, free_port, subgraph_app

REPO = Path(__file__).resolve().parents[3]
HELLO = "type Query { hello: String }"
WORLD = "type Query { world: String }"


def _config(tmp_path: Path, ports: dict[str, int]) -> Path:
    lines = ["subgraphs:"]
    for name, port in ports.items():
        url = f"http://127.0.0.1:{port}/graphql"
        lines += [f"  {name}:", f"    routing_url: {url}", "    schema:", f"      subgraph_url: {url}"]
    path = tmp_path / "supergraph.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class _ServerOnPort(RunningServer):
    """RunningServer on a port chosen beforehand (the one the gateway's config names)."""

    def __init__(self, app: Any, port: int) -> None:
        super().__init__(app)
        self.sock.close()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = port
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)


@contextmanager
def _gateway(config: Path, port: int, log: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "GATEWAY_SUPERGRAPH")}
    env.update(PYTHONPATH=str(REPO), GATEWAY_COMPOSE_RETRY_INITIAL_SECONDS="0.1",
               GATEWAY_COMPOSE_RETRY_MAX_SECONDS="0.4")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port), *extra],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _poll(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = probe()
        except httpx.TransportError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def test_gateway_started_before_a_subgraph_waits_then_serves(tmp_path: Path) -> None:
    hello_port, world_port, port = free_port(), free_port(), free_port()
    config = _config(tmp_path, {"hello": hello_port, "world": world_port})
    log = tmp_path / "gateway.log"
    base = f"http://127.0.0.1:{port}"
    hello = _ServerOnPort(subgraph_app(HELLO, {"Query.hello": lambda _p: "hi"}), hello_port).start()
    try:
        with _gateway(config, port, log) as proc:
            health = _poll(lambda: httpx.get(f"{base}/health", timeout=2), 60, "the gateway to listen")
            assert health.status_code == 200
            waiting = _poll(lambda: (r := httpx.get(f"{base}/ready", timeout=2)).json().get("waitingFor") and r,
                            30, "a first attempt")
            assert waiting.status_code == 503
            assert waiting.json()["waitingFor"] == ["world"]  # only the subgraph that is down
            early = httpx.post(f"{base}/graphql", json={"query": "{ hello }"}, timeout=2)
            assert early.status_code == 503 and early.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            # at least two attempts logged before the subgraph appears
            _poll(lambda: log.read_text().count('subgraph world not ready') >= 2, 30, "two logged attempts")
            world = _ServerOnPort(subgraph_app(WORLD, {"Query.world": lambda _p: "earth"}), world_port).start()
            try:
                _poll(lambda: httpx.get(f"{base}/ready", timeout=2).status_code == 200, 30, "/ready")
                answer = httpx.post(f"{base}/graphql", json={"query": "{ hello world }"}, timeout=5)
                assert answer.status_code == 200
                assert answer.json() == {"data": {"hello": "hi", "world": "earth"}}
                assert proc.poll() is None
            finally:
                world.stop()
    finally:
        hello.stop()
    text = log.read_text()
    assert "composition attempt 1: subgraph world not ready" in text
    assert "hello not ready" not in text


def test_gateway_exits_non_zero_after_its_deadline(tmp_path: Path) -> None:
    config = _config(tmp_path, {"missing": free_port()})
    log = tmp_path / "gateway.log"
    port = free_port()
    with _gateway(config, port, log, "--compose-deadline", "1") as proc:
        assert proc.wait(timeout=60) == 1
    text = log.read_text()
    assert "subgraph missing still unavailable" in text and "giving up" in text


def test_backoff_doubles_up_to_its_cap() -> None:
    retry = ComposeRetry(initial_delay=0.5, max_delay=3.0, deadline=60)
    assert [retry.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert ComposeRetry.from_env({"GATEWAY_COMPOSE_DEADLINE_SECONDS": "7"}).deadline == 7
    with pytest.raises(ValueError, match="GATEWAY_COMPOSE_RETRY_MAX_SECONDS"):
        ComposeRetry.from_env({"GATEWAY_COMPOSE_RETRY_MAX_SECONDS": "soon"})


async def test_unavailable_is_retried_but_a_composition_error_is_not() -> None:
    calls: list[str] = []
    pauses: list[float] = []

    def flaky(_path: str) -> str:
        calls.append("x")
        if len(calls) < 3:
            raise SubgraphUnavailable([CompositionIssue("CONFIG_ERROR", "down", ["orders"])])
        return "SDL"

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    retry = ComposeRetry(initial_delay=1, max_delay=1.5, deadline=60)
    assert await compose_until_ready("c.yaml", retry, compose=flaky, sleep=sleep) == "SDL"
    assert len(calls) == 3 and pauses == [1, 1.5]

    def broken(_path: str) -> str:
        calls.append("broken")
        raise CompositionError([CompositionIssue("FIELD_TYPE_MISMATCH", "no", ["a", "b"])])

    with pytest.raises(CompositionGaveUp, match="FIELD_TYPE_MISMATCH"):
        await compose_until_ready("c.yaml", retry, compose=broken, sleep=sleep)
    assert calls.count("broken") == 1
