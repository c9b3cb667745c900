"""The whole stack as real processes: Redis, MongoDB, every service, every worker, the gateway.

One private redis-server (unless REDIS_URL is set) and one MongoDB wire-protocol server (unless
MONGODB_URL is set; on disk at `mongo_path`, else in memory) are shared by every process, so each
service's arq worker runs as its own supervised process
(`python -m subgraphs.kit.worker_process subgraphs.<name>.worker.WorkerSettings`), as in production.
Where no wire-protocol server can start, each service falls back to its own in-memory
database and runs its worker inside itself.

`make dev` runs it on the default ports; the end-to-end and chaos tests run it on free ports. Which
subgraphs exist comes from supergraph.yaml; with other ports, a copy of it pointing at them is composed.

With `instances=N` (free ports only), it runs N *cells* on the one Redis and the one MongoDB: cell k has
its own process of every service (`products-k`, ...), of every worker (`orders-worker-k`, ...) and a
gateway (`gateway-k`) whose supergraph names that cell's instances, and each service of cell k calls
the other services of cell k (`<SERVICE>_URL`). Nothing but Redis and MongoDB joins two cells, so
whatever one cell sees of another's writes went through them (tests/scaling/).

Every process gets the environment (APP_ENV, JWT_*, SUBGRAPH_SHARED_SECRET included). Unless
`open_subgraphs` is set or the environment has one, the stack makes a SUBGRAPH_SHARED_SECRET for the
run, so its subgraphs answer only the gateway and each other, as in production (docs/security.md).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from subgraphs.kit import embedded_mongo
from subgraphs.kit.embedded_mongo import EmbeddedMongo
from subgraphs.kit.embedded_redis import EmbeddedRedis, free_ports
from subgraphs.kit.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parent.parent
SUPERGRAPH_CONFIG = ROOT / "supergraph.yaml"


def subgraph_names(config_path: Path = SUPERGRAPH_CONFIG) -> list[str]:
    config = yaml.safe_load(config_path.read_text())
    return list(config["subgraphs"])


def has_worker(name: str) -> bool:
    return (ROOT / "subgraphs" / name / "worker.py").exists()


@dataclass
class Stack:
    """Start with `start()`, stop with `stop()` (every process it started, by PID)."""

    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    env: Mapping[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    mongo_path: Path | None = None
    # Extra environment of single processes, by name: e.g. the chaos suite points orders' PRODUCTS_URL
    # at its fault proxy with {"orders": {...}, "orders-worker": {...}}.
    process_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # True: no SUBGRAPH_SHARED_SECRET is made, so subgraphs answer direct callers (development only)
    open_subgraphs: bool = False
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    # The ports of cells 2..N (each: every name of DEFAULT_PORTS); empty for the usual one-cell stack.
    extra_cells: list[dict[str, int]] = field(default_factory=list)
    redis: EmbeddedRedis | None = None
    mongo: EmbeddedMongo | None = None
    _commands: dict[str, tuple[list[str], int]] = field(default_factory=dict)
    _environ: dict[str, str] = field(default_factory=dict)
    _logs: list[Any] = field(default_factory=list)
    _written: set[Path] = field(default_factory=set)  # supergraph configs of non-default ports, removed at stop

    @classmethod
    def on_free_ports(cls, instances: int = 1, **kwargs: Any) -> Stack:
        """A stack on free ports; `instances` > 1 runs that many cells (see the module docstring)."""
        if instances < 1:
            raise ValueError("instances must be at least 1")
        ports = iter(free_ports(len(DEFAULT_PORTS) * instances))
        cells = [{name: next(ports) for name in DEFAULT_PORTS} for _ in range(instances)]
        return cls(ports=cells[0], extra_cells=cells[1:], **kwargs)

    @property
    def cells(self) -> list[dict[str, int]]:
        return [self.ports, *self.extra_cells]

    def instance_name(self, name: str, cell: int = 0) -> str:
        """The process name of service (or gateway, or `<service>-worker`) `name` in `cell` (0-based)."""
        return name if not self.extra_cells else f"{name}-{cell + 1}"

    def _port_of(self, name: str) -> int:
        for cell, ports in enumerate(self.cells):
            for service, port in ports.items():
                if self.instance_name(service, cell) == name:
                    return port
        raise KeyError(f"no process named {name!r} listens in this stack")

    def url(self, name: str) -> str:
        """The base URL of a process by name (`products`, or `products-2` in a stack of cells)."""
        return f"http://127.0.0.1:{self._port_of(name)}"

    @property
    def gateway_url(self) -> str:
        return f"{self.url(self.instance_name('gateway'))}/graphql"

    def gateway_urls(self) -> list[str]:
        """Each cell's gateway /graphql, cell 1 first."""
        return [f"{self.url(self.instance_name('gateway', cell))}/graphql" for cell in range(len(self.cells))]

    @property
    def subgraph_secret(self) -> str | None:
        """The SUBGRAPH_SHARED_SECRET of the running stack (None: its subgraphs are open)."""
        return self._environ.get("SUBGRAPH_SHARED_SECRET") or None

    @property
    def shared_database(self) -> bool:
        """True when every process reaches the same MongoDB (so workers run as their own processes)."""
        return bool(self._environ.get("MONGODB_URL"))

    def _environment(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        if not env.get("SUBGRAPH_SHARED_SECRET") and not self.open_subgraphs:
            env["SUBGRAPH_SHARED_SECRET"] = secrets.token_urlsafe(32)
        production = env.get("APP_ENV", "").strip().lower() == "production"
        if not production:
            # Development: webhooks may point at local listeners (production refuses private addresses).
            env.setdefault("NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE", "true")
        if not env.get("REDIS_URL"):
            self.redis = EmbeddedRedis().start()
            env["REDIS_URL"] = self.redis.url
        if not env.get("MONGODB_URL"):
            reason = embedded_mongo.unavailable_reason()
            if reason is None:
                self.mongo = EmbeddedMongo(self.mongo_path).start()
                env["MONGODB_URL"] = self.mongo.url
                if not production:  # production refuses the demo catalog
                    env.setdefault("PRODUCTS_SEED_DEMO", "1")
            else:
                print(f"stack: {reason}; each service runs on its own in-memory database", file=sys.stderr)
        env.update(self._cell_env(0))
        return env

    def _cell_env(self, cell: int) -> dict[str, str]:
        """Where the processes of `cell` listen and reach each other (`<NAME>_PORT`, `<NAME>_URL`)."""
        env = {}
        for name, port in self.cells[cell].items():
            prefix = name.upper()
            env[f"{prefix}_PORT"] = str(port)
            env[f"{prefix}_URL"] = f"http://127.0.0.1:{port}/graphql"
        if "gateway" in self.cells[cell] and "GATEWAY_CACHE_INVALIDATION_URL" not in {**os.environ, **self.env}:
            # products tells its cell's gateway about writes that bypass it (used once a token is set)
            env["GATEWAY_CACHE_INVALIDATION_URL"] = f"http://127.0.0.1:{self.cells[cell]['gateway']}/cache/invalidation"
        return env

    def supergraph_config(self, cell: int = 0) -> Path:
        """The Rover-format config naming the subgraph instances of `cell` (written under var/ while the
        stack runs; `stop()` removes it)."""
        ports = self.cells[cell]
        if all(ports[n] == DEFAULT_PORTS[n] for n in ports):
            return SUPERGRAPH_CONFIG
        config = yaml.safe_load(SUPERGRAPH_CONFIG.read_text())
        for name, spec in config["subgraphs"].items():
            url = f"http://127.0.0.1:{ports[name]}/graphql"
            spec["routing_url"] = url
            spec["schema"] = {"subgraph_url": url}
        target = ROOT / "var" / f"supergraph-{ports['gateway']}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        self._written.add(target)
        return target

    def _spawn(self, name: str, args: list[str], cell: int = 0) -> subprocess.Popen[bytes]:
        output: Any = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop())
            self._logs.append(output)
        process = subprocess.Popen(
            [sys.executable, *args], env={**self._environ, **self._cell_env(cell), **self.process_env.get(name, {})},
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT if output else None,
        )
        self._commands[name] = (args, cell)
        self.processes = [(n, p) for n, p in self.processes if n != name] + [(name, process)]
        return process

    def process(self, name: str) -> subprocess.Popen[bytes]:
        return dict(self.processes)[name]

    def kill(self, name: str) -> None:
        """SIGKILL one process of the stack (a service, `<service>-worker` or the gateway)."""
        process = self.process(name)
        if process.poll() is None:
            process.kill()
        process.wait()

    def restart(self, name: str, timeout: float = 60) -> None:
        """Start a killed or exited process again with the same command; wait until it is ready."""
        if self.process(name).poll() is None:
            raise RuntimeError(f"{name} is still running")
        args, cell = self._commands[name]
        self._spawn(name, args, cell)
        if "-worker" not in name:
            self.wait_ready(name, timeout)

    def _check_ports_free(self) -> None:
        """Fail before starting anything when a port is taken (e.g. by another `make dev`): otherwise
        the readiness checks would be answered by whatever already listens there."""
        busy = []
        for name, port in ((n, p) for ports in self.cells for n, p in ports.items()):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    busy.append(f"{name} ({port})")
        if busy:
            raise RuntimeError(f"ports already in use: {', '.join(busy)}; is another stack running?")

    def start(self, timeout: float = 90) -> Stack:
        self._check_ports_free()
        try:
            self._environ = self._environment()
            self.redis_url = self._environ["REDIS_URL"]
            if self.extra_cells and not self.shared_database:
                raise RuntimeError("several instances need one MongoDB for all of them (the embedded "
                                   "wire-protocol server: `make setup`; or MONGODB_URL)")
            services = subgraph_names()
            cells = range(len(self.cells))
            for cell in cells:
                for name in services:
                    self._spawn(self.instance_name(name, cell), ["-m", f"subgraphs.{name}"], cell)
            for cell in cells:
                for name in services:
                    self.wait_ready(self.instance_name(name, cell), timeout)
            if self.shared_database:
                for cell in cells:
                    for name in filter(has_worker, services):
                        self._spawn(self.instance_name(f"{name}-worker", cell), [
                            "-m", "subgraphs.kit.worker_process", f"subgraphs.{name}.worker.WorkerSettings"], cell)
            for cell in cells:
                serve = ["-m", "gateway", "serve", "--config", str(self.supergraph_config(cell))]
                self._spawn(self.instance_name("gateway", cell), [*serve, "--port", str(self.cells[cell]["gateway"])],
                            cell)
            for cell in cells:
                self.wait_ready(self.instance_name("gateway", cell), timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, name: str, timeout: float) -> None:
        process = dict(self.processes)[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode} before it was ready")
            try:
                if httpx.get(f"{self.url(name)}/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} was not ready within {timeout:.0f}s")

    def running(self) -> bool:
        return all(process.poll() is None for _, process in self.processes)

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        for written in self._written:
            written.unlink(missing_ok=True)
        self._written.clear()
        if self.mongo is not None:
            self.mongo.stop()
            self.mongo = None
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
