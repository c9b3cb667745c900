"""Gateway benchmark: Node fixture subgraphs, our gateway, wrk (or aiohttp) load, median of N runs.

    .venv/bin/python bench/gateway/run.py [--duration 8] [--runs 3] [--connections 50] [--workers 1,2]
                                          [--tracing 0.1,1] [--no-metrics-off]

With --tracing, one-worker gateways with tracing off and at each sampling ratio (exporting over
OTLP/HTTP to a local sink that discards) run side by side and are measured in interleaved runs.
Each --workers variant runs with Prometheus metrics on and off (GATEWAY_METRICS) the same way.

Prints a table and writes var/bench/gateway.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from bench.gateway.loadgen import FALLBACK_WARNING, LoadResult, run_load, wrk_available  # noqa: E402
from bench.gateway.procstat import cpu_seconds  # noqa: E402
from bench.gateway.schema import BASELINE_QUERY, EXPECTED, PRODUCTS_SDL, QUERY, REVIEWS_SDL  # noqa: E402

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 30.0
WARMUP_SECONDS = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Any, what: str, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def summarize(runs: list[LoadResult], cpu_us: list[float] | None = None) -> dict[str, Any]:
    return {
        "requests_per_second": statistics.median(r.requests_per_second for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "errors": sum(r.errors for r in runs),
        "runs": [r.as_dict() for r in runs],
        **({"cpu_us_per_request": statistics.median(cpu_us)} if cpu_us else {}),
    }


def measure(url: str, body: str, args: argparse.Namespace, use_wrk: bool, label: str) -> dict[str, Any]:
    run_load(url, body, args.connections, WARMUP_SECONDS, use_wrk)
    runs = []
    for i in range(args.runs):
        result = run_load(url, body, args.connections, args.duration, use_wrk)
        print(
            f"  {label} run {i + 1}/{args.runs}: {result.requests_per_second:,.0f} req/s "
            f"p50 {result.p50_ms:.2f} ms p99 {result.p99_ms:.2f} ms errors {result.errors}",
            flush=True,
        )
        runs.append(result)
    return summarize(runs)


def compose_supergraph(products_url: str, reviews_url: str) -> str:
    composition = importlib.import_module("gateway.composition")
    SubgraphSource, compose = composition.SubgraphSource, composition.compose
    return str(
        compose(
            [
                SubgraphSource(name="products", url=products_url, sdl=PRODUCTS_SDL),
                SubgraphSource(name="reviews", url=reviews_url, sdl=REVIEWS_SDL),
            ]
        )
    )


def tracing_env(ratio: float, sink_port: int) -> dict[str, str]:
    """OTEL_* for a gateway that samples `ratio` of the requests (of every trace it starts)."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": f"{ratio:g}",
    }


def spawn_gateway(
    supergraph: Path, workers: int, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, Any]:
    port = free_port()
    cmd = [sys.executable, "-m", "gateway", "serve", "--supergraph", str(supergraph),
           "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    log = tempfile.NamedTemporaryFile(prefix="bench-gateway-", suffix=".log", delete=False)  # noqa: SIM115
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**clean, **(env or {})})
    return proc, f"http://127.0.0.1:{port}", log


def check_gateway(proc: subprocess.Popen[bytes], base: str, log: Any, what: str) -> str | None:
    """None when the gateway is up and answers the benchmark query right, else the error."""
    try:
        wait_until(lambda: httpx.get(f"{base}/ready", timeout=2).status_code == 200, what, proc)
    except RuntimeError as exc:
        tail = Path(log.name).read_text(errors="replace")[-1500:]
        return f"{exc}; log tail:\n{tail}"
    answer = httpx.post(f"{base}/graphql", json={"query": QUERY}, timeout=10)
    if answer.status_code != 200 or answer.json() != EXPECTED:
        return f"wrong answer ({answer.status_code}): {answer.text[:500]}"
    return None


def bench_gateway(supergraph: Path, workers: int, args: argparse.Namespace, use_wrk: bool) -> dict[str, Any]:
    """Metrics on and off (GATEWAY_METRICS) side by side, their runs interleaved so both see the same
    machine; the result is metrics on, with `metrics_off` and `metrics_rps_ratio` (on / off)."""
    variants = {"on": {"GATEWAY_METRICS": "1"}, "off": {"GATEWAY_METRICS": "0"}}
    if not args.metrics_off:
        variants = {"on": variants["on"]}
    started = {name: spawn_gateway(supergraph, workers, env) for name, env in variants.items()}
    body = json.dumps({"query": QUERY})
    try:
        for name, (proc, base, log) in started.items():
            error = check_gateway(proc, base, log, f"gateway (workers={workers}, metrics {name})")
            if error:
                return {"error": error}
            run_load(f"{base}/graphql", body, args.connections, WARMUP_SECONDS, use_wrk)
        runs: dict[str, list[LoadResult]] = {name: [] for name in started}
        cpu: dict[str, list[float]] = {name: [] for name in started}
        for i in range(args.runs):
            order = list(started.items()) if i % 2 == 0 else list(reversed(started.items()))  # no order bias
            for name, (proc, base, _) in order:
                before = cpu_seconds(proc.pid)
                result = run_load(f"{base}/graphql", body, args.connections, args.duration, use_wrk)
                after = cpu_seconds(proc.pid)
                done = result.requests_per_second * args.duration
                if before is not None and after is not None and done:
                    cpu[name].append((after - before) / done * 1e6)
                print(
                    f"  gateway workers={workers} metrics {name} run {i + 1}/{args.runs}: "
                    f"{result.requests_per_second:,.0f} req/s p50 {result.p50_ms:.2f} ms "
                    f"p99 {result.p99_ms:.2f} ms errors {result.errors}",
                    flush=True,
                )
                runs[name].append(result)
        outcome = summarize(runs["on"], cpu["on"])
        if "off" in runs:
            off = summarize(runs["off"], cpu["off"])
            outcome["metrics_off"] = off
            outcome["metrics_rps_ratio"] = outcome["requests_per_second"] / off["requests_per_second"]
            if "cpu_us_per_request" in outcome and "cpu_us_per_request" in off:
                # CPU per request barely moves with the machine's load, where req/s swings by +-15%
                outcome["metrics_cpu_ratio"] = outcome["cpu_us_per_request"] / off["cpu_us_per_request"]
        return outcome
    finally:
        for proc, _, log in started.values():
            stop(proc)
            log.close()


def start_gateway(supergraph: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Any]:
    """A one-worker gateway with `env` on a free port, checked for the right answer."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    cmd = [sys.executable, "-m", "gateway", "serve", "--supergraph", str(supergraph),
           "--host", "127.0.0.1", "--port", str(port)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    log = tempfile.NamedTemporaryFile(prefix="bench-gateway-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**clean, **env})
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200, "gateway", proc)
    answer = httpx.post(url, json={"query": QUERY}, timeout=10)
    if answer.status_code != 200 or answer.json() != EXPECTED:
        raise RuntimeError(f"wrong answer ({answer.status_code}): {answer.text[:500]}")
    return proc, url, log


def bench_tracing(supergraph: Path, args: argparse.Namespace, use_wrk: bool, results: dict[str, Any]) -> int:
    """Tracing off and at each sampling ratio: one-worker gateways running side by side, their runs
    interleaved (off, 10%, 100%, off, ...) so that every variant sees the same machine noise."""
    ratios = [float(r) for r in args.tracing.split(",") if r.strip()]
    if not ratios:
        return 0
    sink_port = free_port()
    sink = subprocess.Popen([sys.executable, str(HERE / "otlp_sink.py"), str(sink_port)])
    variants: dict[str, dict[str, str]] = {"tracing off": {}}
    variants.update({f"tracing {ratio:.0%}": tracing_env(ratio, sink_port) for ratio in ratios})
    started: dict[str, tuple[subprocess.Popen[bytes], str, Any]] = {}
    body = json.dumps({"query": QUERY})
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{sink_port}/", timeout=2).status_code == 200, "OTLP sink", sink)
        for name, env in variants.items():
            started[name] = start_gateway(supergraph, env)
        print(f"tracing: {', '.join(variants)} side by side, runs interleaved", flush=True)
        for _, url, _ in started.values():
            run_load(url, body, args.connections, WARMUP_SECONDS, use_wrk)
        runs: dict[str, list[LoadResult]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        for i in range(args.runs):
            for name, (proc, url, _) in started.items():
                before = cpu_seconds(proc.pid)
                result = run_load(url, body, args.connections, args.duration, use_wrk)
                after = cpu_seconds(proc.pid)
                if before is not None and after is not None and result.requests_per_second:
                    cpu[name].append((after - before) / (result.requests_per_second * args.duration) * 1e6)
                print(f"  gateway {name} run {i + 1}/{args.runs}: {result.requests_per_second:,.0f} req/s "
                      f"p50 {result.p50_ms:.2f} ms p99 {result.p99_ms:.2f} ms errors {result.errors}", flush=True)
                runs[name].append(result)
    except RuntimeError as exc:
        results["tracing"] = {"error": {"error": str(exc)}}
        return 1
    finally:
        for proc, _, log in started.values():
            stop(proc)
            log.close()
        stop(sink)
    base = results["baseline"]
    summaries = {name: summarize(found, cpu[name]) for name, found in runs.items()}
    off = summaries["tracing off"]
    for summary in summaries.values():
        summary["rps_ratio"] = summary["requests_per_second"] / base["requests_per_second"]
        summary["p50_ratio"] = summary["p50_ms"] / base["p50_ms"]
        summary["rps_vs_off"] = summary["requests_per_second"] / off["requests_per_second"]
        summary["p50_vs_off"] = summary["p50_ms"] / off["p50_ms"]
        if "cpu_us_per_request" in summary and "cpu_us_per_request" in off:
            summary["cpu_vs_off"] = summary["cpu_us_per_request"] / off["cpu_us_per_request"]
    results["tracing"] = summaries
    return 0


def print_table(results: dict[str, Any]) -> None:
    base = results["baseline"]
    rows = [("node subgraph direct (baseline)", base)]
    rows += [(w if w == "composition" else f"gateway workers={w}", r) for w, r in results["gateway"].items()]
    rows += [(f"gateway workers=1 {name}", r) for name, r in results.get("tracing", {}).items()]
    print()
    print(
        f"load generator: {results['load_generator']}; {results['connections']} connections, "
        f"{results['runs']} x {results['duration_s']:.0f}s runs, medians"
    )
    header = (f"{'target':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'rps/base':>10}{'p50/base':>10}"
              f"{'on/off':>8}")
    print(header)
    print("-" * len(header))
    for name, r in rows:
        if "error" in r:
            print(f"{name:<34}  ERROR: {r['error'].splitlines()[0]}")
            continue
        print(
            f"{name:<34}{r['requests_per_second']:>10,.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
            f"{r['errors']:>8}{r.get('rps_ratio', 1.0):>10.3f}{r.get('p50_ratio', 1.0):>10.2f}"
            + (f"  vs off: rps {r['rps_vs_off']:.3f}, p50 {r['p50_vs_off']:.2f}" if "rps_vs_off" in r else "")
            + (f", CPU {r['cpu_vs_off']:.3f}" if "cpu_vs_off" in r else "")
            + (f"{r['metrics_rps_ratio']:>8.3f}" if "metrics_rps_ratio" in r else "")
            + (f"   CPU {r['cpu_us_per_request']:.0f} us/request" if "cpu_us_per_request" in r else "")
            + (f" ({r['metrics_cpu_ratio']:.3f} of off)" if "metrics_cpu_ratio" in r else "")
        )
        if "metrics_off" in r:
            off = r["metrics_off"]
            print(f"{'  ... with GATEWAY_METRICS=0':<34}{off['requests_per_second']:>10,.0f}{off['p50_ms']:>9.2f}"
                  f"{off['p99_ms']:>9.2f}{off['errors']:>8}"
                  + (f"{'':>28}   CPU {off['cpu_us_per_request']:.0f} us/request"
                     if "cpu_us_per_request" in off else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measured run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", default="1,2", help="comma-separated gateway worker counts")
    parser.add_argument("--tracing", default="0.1,1",
                        help="comma-separated sampling ratios measured with tracing on (workers=1); '' for none")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-metrics-off", dest="metrics_off", action="store_false",
                        help="skip the GATEWAY_METRICS=0 variant (by default measured alongside, interleaved)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "bench" / "gateway.json")
    args = parser.parse_args(argv or [])  # `python -m bench` calls main() with no arguments

    if shutil.which("node") is None:
        print("node is required for the fixture subgraphs", file=sys.stderr)
        return 2
    use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and wrk_available())
    if args.loadgen == "wrk" and not wrk_available():
        print("wrk not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    if use_wrk:
        loadgen = "wrk"
    else:
        loadgen = "python-aiohttp (" + ("--loadgen python" if args.loadgen == "python" else "wrk not found") + ")"
    print(f"load generator: {loadgen}", flush=True)
    if not use_wrk:
        print(FALLBACK_WARNING, file=sys.stderr, flush=True)

    products_port, reviews_port = free_port(), free_port()
    products_url = f"http://127.0.0.1:{products_port}/graphql"
    reviews_url = f"http://127.0.0.1:{reviews_port}/graphql"
    node = subprocess.Popen(["node", str(HERE / "subgraphs.js"), str(products_port), str(reviews_port)])
    results: dict[str, Any] = {
        "load_generator": loadgen,
        "connections": args.connections,
        "runs": args.runs,
        "duration_s": args.duration,
        "query": QUERY,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "gateway": {},
    }
    exit_code = 0
    try:
        for url in (products_url, reviews_url):
            wait_until(lambda u=url: httpx.get(u, timeout=2).status_code == 200, "node subgraphs", node)
        print("baseline: node products subgraph hit directly", flush=True)
        results["baseline"] = measure(products_url, json.dumps({"query": BASELINE_QUERY}), args, use_wrk, "baseline")
        with tempfile.TemporaryDirectory() as tmp:
            supergraph = Path(tmp) / "supergraph.graphql"
            try:
                supergraph.write_text(compose_supergraph(products_url, reviews_url))
            except Exception as exc:  # composition missing or failing: still report the baseline
                results["gateway"]["composition"] = {"error": f"composition failed: {exc!r}"}
                exit_code = 1
            else:
                for workers in (int(w) for w in args.workers.split(",") if w.strip()):
                    print(f"gateway workers={workers}", flush=True)
                    outcome = bench_gateway(supergraph, workers, args, use_wrk)
                    if "error" in outcome:
                        exit_code = 1
                    else:
                        base = results["baseline"]
                        outcome["rps_ratio"] = outcome["requests_per_second"] / base["requests_per_second"]
                        outcome["p50_ratio"] = outcome["p50_ms"] / base["p50_ms"]
                        outcome["p99_ratio"] = outcome["p99_ms"] / base["p99_ms"]
                    results["gateway"][str(workers)] = outcome
                exit_code = max(exit_code, bench_tracing(supergraph, args, use_wrk, results))
    finally:
        stop(node)

    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
