"""Compose fixture subgraphs, start ``python -m gateway serve`` on them and talk to it."""

from __future__ import annotations

import importlib
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support.reference import apollo_gateway_command
from tests.support.reference_tools import composer_unavailable, node_modules

from .host import Scenario

REPO_ROOT = Path(__file__).resolve().parents[4]
REFCOMPOSE_JS = Path(__file__).with_name("refcompose.js")
READY_TIMEOUT = 30.0


class ReferenceComposerUnavailable(RuntimeError):
    pass


def reference_composer_available() -> str | None:
    """None if the reference composer can run, else the reason it cannot."""
    return composer_unavailable()


def compose_ours(scenario: Scenario) -> str:
    # Imported lazily (and untyped) so the suite collects while composition is being written.
    composition = importlib.import_module("gateway.composition")
    return str(
        composition.compose(
            [
                composition.SubgraphSource(name=name, url=scenario.urls[name], sdl=sg.sdl)
                for name, sg in scenario.subgraphs.items()
            ]
        )
    )


def compose_reference(scenario: Scenario) -> str:
    reason = reference_composer_available()
    if reason:
        raise ReferenceComposerUnavailable(reason)
    payload = [{"name": n, "url": scenario.urls[n], "sdl": sg.sdl} for n, sg in scenario.subgraphs.items()]
    proc = subprocess.run(
        ["node", str(REFCOMPOSE_JS), str(node_modules())],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"reference composition failed:\n{proc.stderr}")
    return proc.stdout


def compose_with(composer: str, scenario: Scenario) -> str:
    if composer == "ours":
        return compose_ours(scenario)
    if composer == "reference":
        return compose_reference(scenario)
    raise ValueError(composer)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gateway_command(supergraph: Path, port: int) -> list[str]:
    """The gateway under test; CONFORMANCE_GATEWAY=apollo runs the reference gateway instead, and
    CONFORMANCE_GATEWAY_CMD any other one (dev checks of the expectations)."""
    if os.environ.get("CONFORMANCE_GATEWAY") == "apollo":
        return apollo_gateway_command(supergraph, port)
    template = os.environ.get("CONFORMANCE_GATEWAY_CMD")
    if template:
        return [part.format(supergraph=supergraph, port=port) for part in shlex.split(template)]
    return [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--supergraph",
        str(supergraph),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


class GatewayProcess:
    def __init__(self, supergraph_sdl: str, workdir: Path, env: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.supergraph_path = workdir / "supergraph.graphql"
        self.supergraph_path.write_text(supergraph_sdl)
        self.log_path = workdir / "gateway.log"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, **(env or {})}
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                gateway_command(self.supergraph_path, self.port),
                cwd=REPO_ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._proc.poll() is not None:
                    raise RuntimeError(f"gateway exited with {self._proc.returncode}:\n{self.log_tail()}")
                try:
                    if client.get(f"{self.base_url}/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"gateway not ready after {READY_TIMEOUT}s:\n{self.log_tail()}")
                time.sleep(0.05)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class GatewayClient:
    """What tests talk to: ``query(...)`` returns the decoded GraphQL response."""

    def __init__(self, base_url: str, scenario: Scenario) -> None:
        self.base_url = base_url
        self.scenario = scenario
        self.http = httpx.Client(base_url=base_url, timeout=30.0)

    @property
    def log(self) -> Any:
        return self.scenario.log

    def post(self, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return self.http.post("/graphql", json=body, headers=dict(headers or {}))

    def query(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        if operation_name is not None:
            body["operationName"] = operation_name
        response = self.post(body, headers)
        assert response.headers.get("content-type", "").split(";")[0].strip() in (
            "application/json",
            "application/graphql-response+json",
        ), f"unexpected content type {response.headers.get('content-type')}: {response.text[:300]}"
        result = response.json()
        assert isinstance(result, dict)
        return result

    def close(self) -> None:
        self.http.close()
