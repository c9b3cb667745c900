"""A/B comparison of gateway variants on a peer workload: runs interleaved, CPU per request.

    .venv/bin/python bench/gateway/ab.py --variant base=/tmp/base-tree --variant new=. \\
        [--variant gc=.:GATEWAY_GC_FREEZE=0] [--workload W2] [--duration 5] [--runs 5] [--rate 5000]

A variant is `name=SOURCE_TREE[:ENV=VALUE,...]`: its gateway runs `python -m gateway serve` from
that tree (a `git archive` of another commit, say), so code as well as settings can be compared.
The subgraphs are the peer benchmark's Node fixtures (products, reviews, users; bench/peers/workloads.py).
Every variant is started side by side on one core (this process, wrk and the subgraphs move to
another, as in bench/peers), warmed up, then measured in rounds whose order alternates;
each run records req/s, p50/p99 and the gateway process tree's CPU time per request (from /proc).
RSS is read at the end. Prints medians and their ratios to the first variant.

With --rate R each run offers R req/s instead (bench/gateway/openloop.py, wrk2-style, over --connections
connections): latency counts from each request's intended send time, so the tail below saturation is
compared, and p99.9 is reported beside p99.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from bench.gateway.loadgen import LoadResult, run_load, wrk_available  # noqa: E402
from bench.gateway.openloop import build as build_open_loop  # noqa: E402
from bench.gateway.openloop import run_open_loop  # noqa: E402
from bench.gateway.run import HERE, cpu_seconds, free_port, stop, wait_until  # noqa: E402
from bench.peers.run import assign_cores, on_core  # noqa: E402
from bench.peers.workloads import SUBGRAPH_SDLS, WORKLOADS  # noqa: E402
from gateway.composition import SubgraphSource, compose  # noqa: E402

SUBGRAPHS = ("products", "reviews", "users")


@dataclass
class Variant:
    name: str
    tree: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    runs: list[LoadResult] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    p999_ms: list[float] = field(default_factory=list)  # fixed-rate runs only

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, _, rest = text.partition("=")
        tree, _, env_text = rest.partition(":")
        env = dict(pair.split("=", 1) for pair in env_text.split(",") if pair)
        return cls(name, Path(tree or ".").resolve(), env)


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` (the one-worker gateway process), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start(variant: Variant, supergraph: Path) -> None:
    port = free_port()
    variant.url = f"http://127.0.0.1:{port}/graphql"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(variant.env)
    env["PYTHONPATH"] = str(variant.tree)
    log = tempfile.NamedTemporaryFile(prefix=f"ab-{variant.name}-", suffix=".log", delete=False)  # noqa: SIM115
    variant.proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--supergraph", str(supergraph),
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=variant.tree, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    base = variant.url.rsplit("/", 1)[0]
    wait_until(lambda: httpx.get(f"{base}/ready", timeout=2).status_code == 200, variant.name, variant.proc)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", action="append", required=True, type=Variant.parse)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workload", default="W1", choices=[n for n, w in WORKLOADS.items() if not w.subscription])
    parser.add_argument("--rate", type=float, default=0.0,
                        help="offer this many req/s (bench/gateway/openloop.py) instead of wrk's closed loop")
    args = parser.parse_args(argv)
    use_wrk = wrk_available()
    measure: Callable[[str, str], tuple[LoadResult, float | None]] = functools.partial(
        _closed_loop, args.connections, args.duration, use_wrk)
    if args.rate > 0:
        binary = build_open_loop(REPO_ROOT / "var" / "bench")
        if binary is None:
            print("--rate needs a C compiler (the open-loop generator is C)", file=sys.stderr)
            return 1
        measure = functools.partial(_fixed_rate, binary, args.rate, args.connections, args.duration)
    cores, pinning = assign_cores()  # the gateways on one core; this process, wrk and the subgraphs on another
    print(pinning, flush=True)
    variants: list[Variant] = args.variant
    workload = WORKLOADS[args.workload]
    ports = {name: free_port() for name in SUBGRAPHS}
    urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
    node = subprocess.Popen(["node", str(HERE / "subgraphs.js"), *(str(ports[name]) for name in SUBGRAPHS)])
    body = json.dumps({"query": workload.query})
    try:
        for url in urls.values():
            wait_until(lambda u=url: httpx.get(u, timeout=2).status_code == 200, "node subgraphs", node)
        with tempfile.TemporaryDirectory() as tmp:
            supergraph = Path(tmp) / "supergraph.graphql"
            sources = [SubgraphSource(name=name, url=urls[name], sdl=SUBGRAPH_SDLS[name]) for name in SUBGRAPHS]
            supergraph.write_text(str(compose(sources)))
            for variant in variants:
                on_core(cores, functools.partial(start, variant, supergraph))
                answer = httpx.post(variant.url, content=body, headers={"content-type": "application/json"})
                if answer.json() != workload.expected:
                    print(f"{variant.name}: wrong answer {answer.text[:300]}", file=sys.stderr)
                    return 1
                run_load(variant.url, body, args.connections, 2.0, use_wrk)
            for i in range(args.runs):
                order = variants if i % 2 == 0 else list(reversed(variants))
                for variant in order:
                    assert variant.proc is not None
                    before = cpu_seconds(variant.proc.pid)
                    result, p999 = measure(variant.url, body)
                    if p999 is not None:
                        variant.p999_ms.append(p999)
                    after = cpu_seconds(variant.proc.pid)
                    done = result.requests_per_second * args.duration
                    if before is not None and after is not None and done:
                        variant.cpu_us.append((after - before) / done * 1e6)
                    variant.runs.append(result)
                    print(f"  {variant.name} run {i + 1}: {result.requests_per_second:,.0f} req/s "
                          f"p50 {result.p50_ms:.2f} p99 {result.p99_ms:.2f} ms CPU {variant.cpu_us[-1]:.0f} us/req",
                          flush=True)
            print(f"workload {workload.name}: {workload.description}")
            report(variants, os.getloadavg())
    finally:
        for variant in variants:
            stop(variant.proc)
        stop(node)
    return 0


def _closed_loop(connections: int, duration: float, use_wrk: bool, url: str, body: str) -> tuple[LoadResult, None]:
    return run_load(url, body, connections, duration, use_wrk), None


def _fixed_rate(binary: Path, rate: float, connections: int, duration: float, url: str,
                body: str) -> tuple[LoadResult, float | None]:
    """One open-loop run as a LoadResult (latency from each request's intended time), and its p99.9."""
    result = run_open_loop(binary, url, body, rate=rate, connections=connections, duration=duration)
    missing = float("inf")  # no response completed: it could not keep up at all
    return LoadResult(result.achieved_rps, result.p50_ms or missing, result.p99_ms or missing,
                      result.completed, result.errors), result.p999_ms or missing


def report(variants: list[Variant], load: tuple[float, float, float]) -> None:
    rows: list[dict[str, Any]] = []
    for variant in variants:
        assert variant.proc is not None
        rows.append({
            "name": variant.name,
            "rps": statistics.median(r.requests_per_second for r in variant.runs),
            "p50": statistics.median(r.p50_ms for r in variant.runs),
            "p99": statistics.median(r.p99_ms for r in variant.runs),
            "p999": statistics.median(variant.p999_ms) if variant.p999_ms else float("nan"),
            "cpu": statistics.median(variant.cpu_us),
            "rss": rss_mib(variant.proc.pid),
            "errors": sum(r.errors for r in variant.runs),
        })
    first = rows[0]
    print(f"\nmedians of {len(variants[0].runs)} interleaved runs; load average {load[0]:.1f}")
    print(f"{'variant':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'CPU us/req':>12}{'RSS MiB':>9}"
          f"{'errors':>8}{'rps ratio':>11}{'CPU ratio':>11}")
    for row in rows:
        print(f"{row['name']:<16}{row['rps']:>9,.0f}{row['p50']:>9.2f}{row['p99']:>9.2f}{row['p999']:>10.2f}"
              f"{row['cpu']:>12.0f}{row['rss']:>9.1f}"
              f"{row['errors']:>8}{row['rps'] / first['rps']:>11.3f}{row['cpu'] / first['cpu']:>11.3f}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
