"""Compiled (mypyc, `make compile`) against pure-Python gateway modules, measured side by side.

    .venv/bin/python bench/gateway/compiled.py [--duration 5] [--runs 5] [--workloads W1,W2] [--workers 1]
                                               [--micro-rounds 5]

1. Over HTTP (the Node fixture subgraphs and the workloads of bench/peers: W1 the gateway bench's query,
   W2 three subgraphs, 50 products, an @requires; wrk or the aiohttp fallback): two gateways with the
   same settings, one loading the compiled modules and one with GATEWAY_PURE_PYTHON=1, their runs
   interleaved (A, B, B, A, ...). Per variant: req/s, p50, p99 and the gateway's CPU time per request
   (from /proc), medians; compiled / pure ratios.
2. In process, without HTTP (`micro.py`, one subprocess per variant and round, interleaved): planning
   a cold operation, and executing a cached plan against an in-memory transport plus shaping.

Needs an up-to-date compiled build (`make compile`). Writes var/bench/compiled.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from bench.gateway.loadgen import LoadResult, run_load, wrk_available  # noqa: E402
from bench.gateway.procstat import cpu_seconds  # noqa: E402
from bench.gateway.run import HERE, WARMUP_SECONDS, free_port, spawn_gateway, stop, wait_until  # noqa: E402
from bench.peers.run import FIXTURE_ORDER, compose, start_fixtures  # noqa: E402
from bench.peers.workloads import WORKLOADS, Workload  # noqa: E402
from gateway import native  # noqa: E402

VARIANTS = {"compiled": {native.PURE_ENV: "0"}, "pure": {native.PURE_ENV: "1"}}


def check_answer(proc: subprocess.Popen[bytes], base: str, workload: Workload, what: str) -> None:
    wait_until(lambda: httpx.get(f"{base}/ready", timeout=2).status_code == 200, what, proc)
    answer = httpx.post(f"{base}/graphql", json={"query": workload.query}, timeout=10)
    if answer.status_code != 200 or answer.json() != workload.expected:
        raise RuntimeError(f"{what}: wrong answer to {workload.name} ({answer.status_code}): {answer.text[:300]}")


def http_rounds(
    supergraph: Path, workload: Workload, workers: int, args: argparse.Namespace, use_wrk: bool
) -> dict[str, Any]:
    started = {name: spawn_gateway(supergraph, workers, {"GATEWAY_METRICS": "1", **env})
               for name, env in VARIANTS.items()}
    body = json.dumps({"query": workload.query})
    runs: dict[str, list[LoadResult]] = {name: [] for name in started}
    cpu: dict[str, list[float]] = {name: [] for name in started}
    try:
        for name, (proc, base, _) in started.items():
            check_answer(proc, base, workload, f"gateway {name} (workers={workers})")
            run_load(f"{base}/graphql", body, args.connections, WARMUP_SECONDS, use_wrk)
        for i in range(args.runs):
            order = list(started.items()) if i % 2 == 0 else list(reversed(started.items()))
            for name, (proc, base, _) in order:
                before = cpu_seconds(proc.pid)
                result = run_load(f"{base}/graphql", body, args.connections, args.duration, use_wrk)
                after = cpu_seconds(proc.pid)
                if before is not None and after is not None and result.requests:
                    cpu[name].append((after - before) / result.requests * 1e6)
                runs[name].append(result)
                print(f"  {workload.name} workers={workers} {name:<8} run {i + 1}/{args.runs}: "
                      f"{result.requests_per_second:,.0f} req/s, "
                      f"{cpu[name][-1] if cpu[name] else float('nan'):.0f} us CPU/request, "
                      f"p99 {result.p99_ms:.1f} ms, errors {result.errors}", flush=True)
    finally:
        for proc, _, log in started.values():
            stop(proc)
            log.close()
    out: dict[str, Any] = {}
    for name in started:
        out[name] = {
            "requests_per_second": statistics.median(r.requests_per_second for r in runs[name]),
            "p50_ms": statistics.median(r.p50_ms for r in runs[name]),
            "p99_ms": statistics.median(r.p99_ms for r in runs[name]),
            "errors": sum(r.errors for r in runs[name]),
            "cpu_us_per_request": statistics.median(cpu[name]) if cpu[name] else None,
            "runs": [{**r.as_dict(), "cpu_us_per_request": c} for r, c in zip(runs[name], cpu[name], strict=False)],
        }
    out["rps_ratio"] = out["compiled"]["requests_per_second"] / out["pure"]["requests_per_second"]
    if out["compiled"]["cpu_us_per_request"] and out["pure"]["cpu_us_per_request"]:
        out["cpu_ratio"] = out["compiled"]["cpu_us_per_request"] / out["pure"]["cpu_us_per_request"]
    return out


def micro_rounds(rounds: int) -> dict[str, Any]:
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    for i in range(rounds):
        order = list(VARIANTS.items()) if i % 2 == 0 else list(reversed(VARIANTS.items()))
        for name, env in order:
            done = subprocess.run([sys.executable, str(HERE / "micro.py")], cwd=REPO_ROOT, capture_output=True,
                                  text=True, check=True, env={**os.environ, **env})
            result = json.loads(done.stdout)
            if result.pop("mode") != ("compiled" if name == "compiled" else "pure"):
                raise RuntimeError(f"the {name} variant loaded the other build: {done.stderr}")
            samples[name].append(result)
            print(f"  micro {name:<8} round {i + 1}/{rounds}: "
                  + ", ".join(f"{k} {v:.1f} us" for k, v in result.items()), flush=True)
    out: dict[str, Any] = {name: {k: statistics.median(s[k] for s in found) for k in found[0]}
                           for name, found in samples.items()}
    out["ratio"] = {k: out["compiled"][k] / out["pure"][k] for k in out["pure"]}
    return out


def print_tables(results: dict[str, Any]) -> None:
    print(f"\nover HTTP ({results['load_generator']}, {results['connections']} connections, "
          f"{results['runs']} x {results['duration_s']:.0f}s runs per variant, interleaved; medians)")
    print(f"{'workload, workers, build':<30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU us/req':>12}"
          f"{'rps ratio':>11}{'CPU ratio':>11}")
    for target, found in results["http"].items():
        for name in VARIANTS:
            r = found[name]
            ratios = (f"{found['rps_ratio']:>11.3f}{found.get('cpu_ratio', float('nan')):>11.3f}"
                      if name == "compiled" else f"{'1':>11}{'1':>11}")
            print(f"{target + ' ' + name:<30}{r['requests_per_second']:>9,.0f}{r['p50_ms']:>9.2f}"
                  f"{r['p99_ms']:>9.2f}{r['cpu_us_per_request'] or float('nan'):>12.0f}{ratios}")
    if "micro" in results:
        micro = results["micro"]
        print(f"\nin process ({results['micro_rounds']} rounds per variant, interleaved; medians, us per operation)")
        print(f"{'step':<28}{'pure':>10}{'compiled':>10}{'ratio':>8}")
        for step, ratio in micro["ratio"].items():
            print(f"{step:<28}{micro['pure'][step]:>10.1f}{micro['compiled'][step]:>10.1f}{ratio:>8.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", default="1", help="comma-separated gateway worker counts ('' for none)")
    parser.add_argument("--workloads", default="W1,W2", help="comma-separated, of the queries of bench/peers: "
                        + ",".join(name for name, w in WORKLOADS.items() if not w.subscription))
    parser.add_argument("--micro-rounds", type=int, default=5, help="in-process rounds per variant (0 for none)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "bench" / "compiled.json")
    args = parser.parse_args(argv)
    if native.SELECTED != "compiled":
        print(f"no up-to-date compiled build ({native.SELECTED}): run `make compile` first", file=sys.stderr)
        return 2
    use_wrk = wrk_available()
    results: dict[str, Any] = {
        "load_generator": "wrk" if use_wrk else "python-aiohttp (wrk not found)",
        "connections": args.connections, "runs": args.runs, "duration_s": args.duration,
        "micro_rounds": args.micro_rounds, "loadavg_before": os.getloadavg(), "http": {},
    }
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]
    workloads = [WORKLOADS[w.strip()] for w in args.workloads.split(",") if w.strip() and worker_counts]
    if workloads:
        ports = {name: free_port() for name in FIXTURE_ORDER}
        urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
        with tempfile.TemporaryDirectory() as tmp:
            node = start_fixtures("node", ports, 50, Path(tmp) / "fixtures.log")
            try:
                supergraph = Path(tmp) / "supergraph.graphql"
                supergraph.write_text(compose(urls))
                for workload in workloads:
                    for workers in worker_counts:
                        outcome = http_rounds(supergraph, workload, workers, args, use_wrk)
                        results["http"][f"{workload.name} workers={workers}"] = outcome
            finally:
                stop(node)
    if args.micro_rounds:
        results["micro"] = micro_rounds(args.micro_rounds)
    results["loadavg_after"] = os.getloadavg()
    print_tables(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nload average before {results['loadavg_before'][0]:.1f}, after {results['loadavg_after'][0]:.1f}; "
          f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
