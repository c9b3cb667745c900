"""`python -m gateway` commands: token, compose (with a stubbed composer), serve start-up and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import httpx
import pytest

from gateway.__main__ import main
from gateway.auth import decode_dev_token

from . import shop
from .harness import free_port

REPO = Path(__file__).resolve().parents[3]


def test_token(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "s3cret")
    assert main(["token", "--sub", "user-1", "--scope", "orders:read", "--scope", "cart", "--ttl", "60"]) == 0
    claims = decode_dev_token(capsys.readouterr().out.strip(), "s3cret")
    assert claims["sub"] == "user-1"
    assert claims["scope"] == "orders:read cart"
    assert int(claims["exp"]) - int(claims["iat"]) == 60  # type: ignore[call-overload]


@pytest.fixture()
def fake_composition(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("gateway.composition")

    class CompositionError(Exception):
        pass

    def compose_config(path: str) -> str:
        if "bad" in path:
            raise CompositionError("error[X]: broken subgraph")
        return shop.SUPERGRAPH

    module.CompositionError = CompositionError  # type: ignore[attr-defined]
    module.compose_config = compose_config  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gateway.composition", module)
    import gateway

    monkeypatch.setattr(gateway, "composition", module, raising=False)
    return module


def test_compose_writes_or_prints(
    fake_composition: types.ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "supergraph.graphql"
    assert main(["compose", "good.yaml", "-o", str(out)]) == 0
    assert out.read_text() == shop.SUPERGRAPH
    assert main(["compose", "good.yaml"]) == 0
    assert "join__Graph" in capsys.readouterr().out
    assert main(["compose", "bad.yaml"]) == 1
    assert "error[X]: broken subgraph" in capsys.readouterr().err


def test_serve_starts_and_exits_on_sigterm(tmp_path: Path) -> None:
    supergraph = tmp_path / "sg.graphql"
    supergraph.write_text(shop.SUPERGRAPH)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--supergraph", str(supergraph), "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # how fast it starts is measured by the bench, not here: a busy machine may take a while
        deadline = started + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert ready is not None and ready.status_code == 200
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully (lifespan shutdown closes the subgraph session), then
        # re-raises the signal so the exit status reports it
        assert proc.wait(timeout=10) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_rejects_bad_supergraph(tmp_path: Path) -> None:
    bad = tmp_path / "bad.graphql"
    bad.write_text("type Query { a: Int }")
    assert main(["serve", "--supergraph", str(bad), "--port", str(free_port())]) == 1


def _long_query() -> str:
    """A valid operation longer than any file name (PATH_MAX is 4096 on Linux)."""
    fields = " ".join(f"p{i}: topProducts {{ upc name }}" for i in range(200))
    return "query Long { " + fields + " }"


def test_plan_takes_a_long_query_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    supergraph = tmp_path / "sg.graphql"
    supergraph.write_text(shop.SUPERGRAPH)
    query = _long_query()
    assert len(query) > 4096
    assert main(["plan", "--supergraph", str(supergraph), query]) == 0
    out = capsys.readouterr().out
    assert 'Fetch(service: "products")' in out
    assert "p199: topProducts" in out


def test_plan_reads_a_query_file_or_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    supergraph = tmp_path / "sg.graphql"
    supergraph.write_text(shop.SUPERGRAPH)
    query_file = tmp_path / "q.graphql"
    query_file.write_text("{ topProducts { upc } }")
    assert main(["plan", "--supergraph", str(supergraph), str(query_file)]) == 0
    assert "topProducts" in capsys.readouterr().out
    assert main(["plan", "--supergraph", str(supergraph), "{ nope }"]) == 1
    assert "nope" in capsys.readouterr().err
    assert main(["plan", "--supergraph", str(tmp_path / "missing.graphql"), "{ topProducts { upc } }"]) == 1
    assert "cannot plan" in capsys.readouterr().err
    query_file.write_bytes(b"\xff\xfe{ topProducts }")
    assert main(["plan", "--supergraph", str(supergraph), str(query_file)]) == 1
    assert "cannot plan" in capsys.readouterr().err
