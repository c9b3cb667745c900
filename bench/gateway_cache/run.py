"""Cached catalog reads: our gateway with its entity and query cache (gateway.cache), with and without
its in-process tier, against the same gateway uncached and Grafbase (Rust, no cache), on W1 (a root
fetch and one batched `_entities`).

    .venv/bin/python -m bench.gateway_cache.run [--duration 5] [--runs 3] [--connections 50]

The Node fixture subgraphs (bench/gateway/subgraphs.js) answer with `Cache-Control: public,
max-age=300`; the cache uses the Redis of GATEWAY_CACHE_URL (default redis://127.0.0.1:6379/0) under a
fresh key prefix. Every gateway must first return the same JSON. The variants run side by side on one
core, wrk and the subgraphs on another (as in bench/peers), their runs interleaved in rotating order;
CPU per request is the gateway process's (from /proc). Grafbase comes from REFERENCE_TOOLS_DIR
(skipped, with the reason, when it is not installed). Prints a table with the hit rate (from the
cached gateway's /metrics) and writes var/bench/gateway-cache.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
import redis  # noqa: E402

from bench.gateway.loadgen import LoadResult, run_load, wrk_available  # noqa: E402
from bench.gateway.run import (  # noqa: E402
    HERE,
    WARMUP_SECONDS,
    compose_supergraph,
    cpu_seconds,
    free_port,
    start_gateway,
    stop,
    summarize,
    wait_until,
)
from bench.gateway.schema import EXPECTED, PRODUCTS_SDL, QUERY, REVIEWS_SDL  # noqa: E402
from bench.loadtest.cache_probe import cache_lookups  # noqa: E402
from bench.peers.run import assign_cores, on_core  # noqa: E402
from tests.differential.gateways import GatewayProcess, write_grafbase_config  # noqa: E402

GRAFBASE = Path("node_modules/@grafbase/cli-x86_64-unknown-linux-musl/grafbase")
HINT = "public, max-age=300"
UNCACHED, CACHED, REDIS_ONLY, GRAFBASE_NAME = "ours uncached", "ours cached", "ours cached, Redis only", \
    "grafbase uncached"
KINDS = ("response_local", "response", "root", "entity")


def grafbase_binary() -> tuple[Path | None, str]:
    root = os.environ.get("REFERENCE_TOOLS_DIR")
    if not root:
        return None, "REFERENCE_TOOLS_DIR is not set"
    binary = Path(root) / GRAFBASE
    return (binary, "") if binary.exists() else (None, f"no Grafbase CLI at {binary}")


def start_grafbase(binary: Path, urls: dict[str, str], workdir: Path) -> GatewayProcess:
    port = free_port()
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    config = write_grafbase_config({"products": PRODUCTS_SDL, "reviews": REVIEWS_SDL}, urls, workdir, port)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "NO_COLOR": "1"}
    command = [str(binary), "--home", str(home), "dev", "-c", str(config)]
    return GatewayProcess(GRAFBASE_NAME, command, port, workdir / "grafbase.log", env).start()


def hit_rate(base_url: str) -> dict[str, float]:
    counts = cache_lookups(httpx.get(f"{base_url}/metrics", timeout=5).text)
    rates = {}
    for kind in KINDS:
        hits, misses = counts.get(kind, (0.0, 0.0))
        rates[kind] = hits / (hits + misses) if hits + misses else 0.0
        rates[f"{kind}_lookups"] = hits + misses
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "bench" / "gateway-cache.json")
    args = parser.parse_args(argv or [])
    if shutil.which("node") is None:
        print("node is required for the fixture subgraphs", file=sys.stderr)
        return 2
    use_wrk = wrk_available()
    redis_url = os.environ.get("GATEWAY_CACHE_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        print(f"skipped: no Redis for the cache at {redis_url} ({exc}); set GATEWAY_CACHE_URL", file=sys.stderr)
        return 0
    cores, pinning = assign_cores()  # this process (so wrk and the subgraphs) moves to the load core
    results_note = pinning
    ports = free_port(), free_port()
    urls = {"products": f"http://127.0.0.1:{ports[0]}/graphql", "reviews": f"http://127.0.0.1:{ports[1]}/graphql"}
    node = subprocess.Popen(["node", str(HERE / "subgraphs.js"), *map(str, ports)],
                            env={**os.environ, "CACHE_CONTROL": HINT})
    started: dict[str, tuple[int, str]] = {}  # name -> (pid, /graphql url)
    stoppers: list[Any] = []
    results: dict[str, Any] = {"query": QUERY, "connections": args.connections, "runs": args.runs,
                               "duration_s": args.duration, "load_generator": "wrk" if use_wrk else "python",
                               "load_average_before": os.getloadavg(), "pinning": results_note}
    try:
        for url in urls.values():
            wait_until(lambda u=url: httpx.get(u, timeout=2).status_code == 200, "node subgraphs", node)
        with tempfile.TemporaryDirectory() as tmp:
            supergraph = Path(tmp) / "supergraph.graphql"
            supergraph.write_text(compose_supergraph(urls["products"], urls["reviews"]))
            cached = {"GATEWAY_CACHE": "1", "GATEWAY_CACHE_URL": redis_url}
            for name, env in ((UNCACHED, {"GATEWAY_CACHE": "0"}),
                              (CACHED, {**cached, "GATEWAY_CACHE_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:"}),
                              (REDIS_ONLY, {**cached, "GATEWAY_CACHE_LOCAL_MAX_MB": "0",
                                            "GATEWAY_CACHE_KEY_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:"})):
                proc, url, log = on_core(cores, functools.partial(start_gateway, supergraph, env))
                started[name] = (proc.pid, url)
                stoppers.extend([lambda proc=proc: stop(proc), log.close])
            binary, reason = grafbase_binary()
            if binary is not None:
                grafbase = on_core(cores, lambda: start_grafbase(binary, urls, Path(tmp) / "grafbase"))
                stoppers.append(grafbase.stop)
                assert grafbase.process is not None
                started[GRAFBASE_NAME] = (grafbase.process.pid, grafbase.url)
            else:
                results["grafbase_skipped"] = reason
                print(f"grafbase skipped: {reason}", flush=True)
            for name, (_, url) in started.items():
                answer = httpx.post(url, json={"query": QUERY}, timeout=10)
                if answer.status_code != 200 or answer.json() != EXPECTED:
                    raise RuntimeError(f"{name} answered wrong ({answer.status_code}): {answer.text[:300]}")
            body = json.dumps({"query": QUERY})
            for _, url in started.values():
                run_load(url, body, args.connections, WARMUP_SECONDS, use_wrk)
            runs: dict[str, list[LoadResult]] = {name: [] for name in started}
            cpu: dict[str, list[float]] = {name: [] for name in started}
            names = list(started)
            for i in range(args.runs):
                for name in names[i % len(names):] + names[: i % len(names)]:  # rotated: no order bias
                    pid, url = started[name]
                    before = cpu_seconds(pid)
                    result = run_load(url, body, args.connections, args.duration, use_wrk)
                    after = cpu_seconds(pid)
                    done = result.requests_per_second * args.duration
                    if before is not None and after is not None and done:
                        cpu[name].append((after - before) / done * 1e6)
                    runs[name].append(result)
                    print(f"  {name} run {i + 1}/{args.runs}: {result.requests_per_second:,.0f} req/s "
                          f"p50 {result.p50_ms:.2f} ms p99 {result.p99_ms:.2f} ms errors {result.errors}", flush=True)
            results["gateways"] = {name: summarize(runs[name], cpu[name]) for name in started}
            results["hit_rate"] = hit_rate(started[CACHED][1].removesuffix("/graphql"))
            results["hit_rate_redis_only"] = hit_rate(started[REDIS_ONLY][1].removesuffix("/graphql"))
    finally:
        for stopper in stoppers:
            stopper()
        stop(node)
    results["load_average_after"] = os.getloadavg()
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}")
    return 0


def print_table(results: dict[str, Any]) -> None:
    gateways = results["gateways"]
    base = gateways[UNCACHED]
    print(f"\nW1 ({results['runs']} x {results['duration_s']:.0f}s interleaved, {results['connections']} connections, "
          f"medians; load average {results['load_average_before'][0]:.1f} before; {results['pinning']})")
    header = f"{'gateway':<20}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/req':>12}{'rps/uncached':>14}"
    print(header)
    print("-" * len(header))
    for name, r in gateways.items():
        cpu = r.get("cpu_us_per_request")
        print(f"{name:<20}{r['requests_per_second']:>9,.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{(f'{cpu:.0f}' if cpu else '-'):>12}{r['requests_per_second'] / base['requests_per_second']:>14.2f}")
    if GRAFBASE_NAME in gateways:
        ratio = gateways[CACHED]["requests_per_second"] / gateways[GRAFBASE_NAME]["requests_per_second"]
        print(f"ours cached / grafbase uncached: {ratio:.2f}x req/s")
    for label, key in ((CACHED, "hit_rate"), (REDIS_ONLY, "hit_rate_redis_only")):
        rates = results[key]
        looked_up = [kind for kind in KINDS if rates[f"{kind}_lookups"]]
        print(f"hit rate, {label}: " + ", ".join(
            f"{kind} {rates[kind]:.4f} of {rates[f'{kind}_lookups']:.0f}" for kind in looked_up))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
