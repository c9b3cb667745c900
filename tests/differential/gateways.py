"""The other gateways put in front of the shop's running subgraphs: @apollo/gateway and Grafbase.

Both answer POST /graphql on a free loopback port. @apollo/gateway runs on the supergraph our
composer made; ``grafbase dev`` composes the subgraphs' SDL files itself (offline) from a
``grafbase.toml`` with each subgraph's ``url``, ``websocket_url`` and ``schema_path``, and forwards
the client's Authorization header, as our gateway does.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from graphql import parse, print_ast
from graphql.language import ast

from subgraphs.kit.embedded_redis import free_port
from tests.gateway.conformance.harness.gateway import REFCOMPOSE_JS
from tests.support.reference import apollo_gateway_command
from tests.support.reference_tools import grafbase_binary, node_modules

READY_TIMEOUT = 60.0


class GatewayProcess:
    """A gateway process on 127.0.0.1:``port``; ``start()`` waits until ``{ __typename }`` answers."""

    def __init__(self, name: str, command: list[str], port: int, log_path: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.command = command
        self.port = port
        self.log_path = log_path
        self.env = dict(env)
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    if client.post(self.url, json={"query": "{ __typename }"}).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT:.0f}s:\n{self.log_tail()}")
                time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def apollo_gateway(supergraph: Path, workdir: Path, name: str = "@apollo/gateway") -> GatewayProcess:
    port = free_port()
    log = workdir / f"{name.strip('@').replace('/', '-').replace(' ', '-')}.log"
    return GatewayProcess(name, apollo_gateway_command(supergraph, port), port, log, os.environ)


def reference_supergraph(sdls: Mapping[str, str], urls: Mapping[str, str]) -> str:
    """The supergraph @apollo/composition makes of the subgraphs (RuntimeError with its errors)."""
    payload = [{"name": name, "url": urls[name], "sdl": sdl} for name, sdl in sdls.items()]
    composed = subprocess.run(["node", str(REFCOMPOSE_JS), str(node_modules())], input=json.dumps(payload),
                              capture_output=True, text=True, timeout=60)
    if composed.returncode != 0:
        raise RuntimeError(f"@apollo/composition refused the subgraphs:\n{composed.stderr}")
    return composed.stdout


def grafbase_gateway(sdls: Mapping[str, str], urls: Mapping[str, str], workdir: Path) -> GatewayProcess:
    """``grafbase dev`` on the subgraphs' SDL (see :func:`grafbase_sdl`), HOME in ``workdir``."""
    port = free_port()
    home = workdir / "grafbase-home"
    home.mkdir(parents=True, exist_ok=True)
    config = write_grafbase_config(sdls, urls, workdir, port)
    command = [str(grafbase_binary()), "--home", str(home), "dev", "-c", str(config)]
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "NO_COLOR": "1"}
    return GatewayProcess("grafbase", command, port, workdir / "grafbase.log", env)


def write_grafbase_config(sdls: Mapping[str, str], urls: Mapping[str, str], workdir: Path, port: int) -> Path:
    """``workdir/grafbase.toml`` and one SDL file per subgraph beside it."""
    sections = []
    for name, sdl in sdls.items():
        schema = workdir / f"{name}.graphql"
        schema.write_text(grafbase_sdl(sdl))
        url = urls[name]
        sections.append(f'[subgraphs.{name}]\nurl = "{url}"\nwebsocket_url = "{url.replace("http", "ws", 1)}"\n'
                        f'schema_path = "{schema}"\n')
    sections.append(f'[network]\nlisten_address = "127.0.0.1:{port}"\n')
    sections.append('[[headers]]\nrule = "forward"\nname = "authorization"\n')
    config = workdir / "grafbase.toml"
    config.write_text("\n".join(sections))
    return config


_INACCESSIBLE = ast.DirectiveNode(name=ast.NameNode(value="inaccessible"), arguments=())


def _hidden(node: Any) -> bool:
    return any(d.name.value == "inaccessible" for d in getattr(node, "directives", None) or ())


def _hide(node: Any) -> Any:
    return node if _hidden(node) else replace(node, directives=(*(node.directives or ()), _INACCESSIBLE))


def grafbase_sdl(sdl: str) -> str:
    """The SDL with ``@inaccessible`` spelled out on the fields of ``@inaccessible`` types and on the
    arguments of ``@inaccessible`` fields.

    Federation (and @apollo/composition, and ours) treats those as hidden already, since their parent
    is; Grafbase's composer (CLI 0.103) refuses them ("The field `StockReservation.state` is of an
    @inaccessible type, but is itself not marked as @inaccessible"). Spelling it out changes nothing
    in the API schema, so this is a normalisation, not a change of the graph.
    """
    definitions = []
    definition: Any
    for definition in parse(sdl).definitions:
        fields = getattr(definition, "fields", None)
        if fields:
            changed = []
            for spec in fields:
                if _hidden(definition):
                    spec = _hide(spec)
                if _hidden(spec) and getattr(spec, "arguments", None):
                    spec = replace(spec, arguments=tuple(_hide(arg) for arg in spec.arguments))
                changed.append(spec)
            definition = replace(definition, fields=tuple(changed))
        definitions.append(definition)
    return print_ast(ast.DocumentNode(definitions=tuple(definitions)))


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.differential.gateways DIR [PORT [CONFIG]]``: a grafbase.toml in DIR for the
    running subgraphs of CONFIG (supergraph.yaml: ``make dev``'s); prints the command that serves it."""
    import sys

    from gateway.composition.config import load_supergraph_config

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(main.__doc__, file=sys.stderr)
        return 2
    workdir = Path(args[0]).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = args[2] if len(args) > 2 else str(Path(__file__).resolve().parents[2] / "supergraph.yaml")
    sources = load_supergraph_config(config_path)
    config = write_grafbase_config({s.name: s.sdl for s in sources}, {s.name: s.url for s in sources}, workdir,
                                   int(args[1]) if len(args) > 1 else 5000)
    print(f"HOME={workdir} {grafbase_binary()} --home {workdir} dev -c {config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
