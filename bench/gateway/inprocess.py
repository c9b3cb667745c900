"""The metrics layer's cost without the load generator's noise: one process, one gateway app, CPU time
per request with the metrics layer on and off in alternating batches.

    .venv/bin/python bench/gateway/inprocess.py [--rounds 16] [--requests 1500] [--concurrency 50]

The ASGI app is called directly (no uvicorn, no client sockets); its subgraph fetches go to the Node
fixture subgraphs over loopback as in bench/gateway/run.py. Both variants are the same objects in the
same process, so memory layout, caches and the machine's load are shared: a batch's CPU time
(`time.process_time`, this process only) over its requests is the figure, and the median of the
rounds per variant is compared. Writes var/bench/gateway-inprocess.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from bench.gateway.run import HERE, compose_supergraph, free_port, stop, wait_until  # noqa: E402
from bench.gateway.schema import EXPECTED, QUERY  # noqa: E402

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _call(app: App, body: bytes) -> bytes:
    """One POST /graphql through the ASGI app; the response body."""
    delivered = False
    parts: list[bytes] = []
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # the app only reads the body; a disconnect would come later
            await asyncio.Event().wait()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    scope = {"type": "http", "method": "POST", "path": "/graphql", "query_string": b"", "scheme": "http",
             "http_version": "1.1", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 4000),
             "headers": [(b"content-type", b"application/json"), (b"accept", b"application/json")]}
    await app(scope, receive, send)
    if status != 200:
        raise RuntimeError(f"the gateway answered {status}: {b''.join(parts)[:300]!r}")
    return b"".join(parts)


async def _lifespan(app: App) -> Callable[[], Awaitable[None]]:
    """Start the app's lifespan; the returned coroutine function shuts it down."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started, finished = asyncio.Event(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()
        elif message["type"].startswith("lifespan.shutdown"):
            finished.set()

    await inbox.put({"type": "lifespan.startup"})
    async def serve() -> None:
        await app({"type": "lifespan"}, inbox.get, send)

    task = asyncio.create_task(serve())
    await started.wait()

    async def shutdown() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await finished.wait()
        await task

    return shutdown


async def measure(sdl: str, args: argparse.Namespace) -> dict[str, Any]:
    from gateway import metrics
    from gateway.config import Settings
    from gateway.server import create_app

    settings = dataclasses.replace(Settings.from_env({"RATE_LIMIT_ENABLED": "0"}), supergraph_sdl=sdl)
    core = create_app(settings)
    variants: dict[str, tuple[App, bool]] = {
        "metrics off": (core, False),
        "metrics on": (metrics.MetricsMiddleware(core, production=False), True),
    }
    body = json.dumps({"query": QUERY}).encode()
    shutdown = await _lifespan(core)
    try:
        if json.loads(await _call(core, body)) != EXPECTED:
            raise RuntimeError("the gateway's answer is not the expected one")
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        for round_ in range(args.rounds + 1):  # round 0 warms up and is not counted
            names = list(variants) if round_ % 2 == 0 else list(reversed(variants))  # no order bias
            for name in names:
                app, metrics.ENABLED = variants[name]
                begun = time.process_time()
                for _ in range(args.requests // args.concurrency):
                    await asyncio.gather(*(_call(app, body) for _ in range(args.concurrency)))
                per_request = (time.process_time() - begun) / (args.requests // args.concurrency * args.concurrency)
                if round_:
                    cpu[name].append(per_request * 1e6)
    finally:
        await shutdown()
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    return {"rounds": args.rounds, "requests_per_round": args.requests, "concurrency": args.concurrency,
            "cpu_us_per_request": medians, "runs_us": cpu,
            "on_over_off": medians["metrics on"] / medians["metrics off"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--requests", type=int, default=1500, help="requests per variant and round")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "bench" / "gateway-inprocess.json")
    args = parser.parse_args(argv or [])
    products_port, reviews_port = free_port(), free_port()
    products_url = f"http://127.0.0.1:{products_port}/graphql"
    reviews_url = f"http://127.0.0.1:{reviews_port}/graphql"
    node = subprocess.Popen(["node", str(HERE / "subgraphs.js"), str(products_port), str(reviews_port)])
    try:
        for url in (products_url, reviews_url):
            wait_until(lambda u=url: httpx.get(u, timeout=2).status_code == 200, "node subgraphs", node)
        result = asyncio.run(measure(compose_supergraph(products_url, reviews_url), args))
    finally:
        stop(node)
    print(f"{args.rounds} rounds x {args.requests} requests, {args.concurrency} concurrent, one process")
    for name, value in result["cpu_us_per_request"].items():
        print(f"  {name:<12} CPU {value:7.1f} us/request (median)")
    print(f"  on / off     {result['on_over_off']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
