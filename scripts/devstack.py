"""`make dev`: run the whole stack on embedded defaults and stop every process it started on Ctrl-C.

One private redis-server (unless REDIS_URL is set) is shared by all services, so they can talk
over the event bus; each service keeps its own database (in-memory unless MONGODB_URL is set).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import httpx

from subgraphs.kit.embedded_redis import EmbeddedRedis
from subgraphs.kit.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Service:
    name: str
    module: str

    @property
    def port(self) -> int:
        return DEFAULT_PORTS[self.name]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


SERVICES = [
    Service("products", "subgraphs.products"),
    Service("orders", "subgraphs.orders"),
    Service("payments", "subgraphs.payments"),
    Service("notifications", "subgraphs.notifications"),
]


def available(service: Service) -> bool:
    return find_spec(f"{service.module}.__main__") is not None


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} was not ready within {timeout:.0f}s")


def main() -> int:
    env = dict(os.environ)
    redis: EmbeddedRedis | None = None
    if not env.get("REDIS_URL"):
        redis = EmbeddedRedis().start()
        env["REDIS_URL"] = redis.url
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def stop_all(*_: object) -> None:
        for name, process in reversed(processes):
            if process.poll() is None:
                print(f"stopping {name} (pid {process.pid})", flush=True)
                process.terminate()
        for _, process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if redis is not None:
            redis.stop()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        services = [s for s in SERVICES if available(s)]
        for service in services:
            process = subprocess.Popen([sys.executable, "-m", service.module], env=env, cwd=ROOT)
            processes.append((service.name, process))
        for (_, process), service in zip(processes, services, strict=True):
            wait_ready(service.url, process)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(ROOT / "supergraph.yaml")], env=env, cwd=ROOT
        )
        processes.append(("gateway", gateway))
        wait_ready(f"http://127.0.0.1:{DEFAULT_PORTS['gateway']}", gateway)
        print("\nThe stack is up (Ctrl-C stops it):", flush=True)
        print(f"  gateway + GraphiQL  http://127.0.0.1:{DEFAULT_PORTS['gateway']}/graphql")
        for service in services:
            print(f"  {service.name:<19} {service.url}/graphql")
        print(f"  redis               {env['REDIS_URL']}")
        print("  a token:            .venv/bin/python -m gateway token --sub alice --scope catalog:write\n", flush=True)
        while all(process.poll() is None for _, process in processes):
            time.sleep(0.5)
        failed = [name for name, process in processes if process.poll() is not None]
        print(f"{', '.join(failed)} exited; stopping the stack", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
