"""W4 (N clients subscribed to one order's status) A/B: our gateway from this checkout against ours
from another source tree, e.g. main before a change.

    git archive main | tar -x -C /tmp/baseline      # any tree with the gateway package
    .venv/bin/python bench/peers/fanout_ab.py --baseline /tmp/baseline [--subscribers 50]
        [--event-ms 20] [--duration 5] [--rounds 5] [--warmup 2]

Both gateways run with this interpreter on the same Node fixture subgraphs (bench/gateway/subgraphs.js),
pinned to the gateway core as in bench/peers/run.py; after a warm-up each, the rounds alternate
(A, B, B, A, ...). Per round: events delivered per second, delivery latency, and CPU ms per
delivered event of the gateway process and of the fixture subgraphs' process (from /proc). Prints
medians and the ratios of this checkout to the baseline; writes var/bench/fanout-ab.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.gateway.procstat import cpu_seconds  # noqa: E402
from bench.gateway.run import free_port, stop  # noqa: E402
from bench.peers import gateways  # noqa: E402
from bench.peers.run import FIXTURE_ORDER, assign_cores, compose, start_fixtures  # noqa: E402
from bench.peers.subscribers import fan_out, first_event  # noqa: E402
from bench.peers.workloads import W4_QUERY, W4_STABLE_EXPECTED, w4_stable  # noqa: E402
from tests.differential.gateways import GatewayProcess  # noqa: E402

FIGURES = ("events_per_second", "p50_ms", "p99_ms", "gateway_cpu_ms_per_event", "subgraphs_cpu_ms_per_event")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="root of the source tree to compare with")
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--event-ms", type=int, default=20, help="the subgraph emits an event every N ms")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per variant")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "bench" / "fanout-ab.json")
    args = parser.parse_args(argv)
    if not (args.baseline / "gateway" / "__init__.py").is_file():
        parser.error(f"{args.baseline} holds no gateway package")
    return args


def gateway(name: str, source: Path, supergraph: Path, cpus: str | None, workdir: Path) -> GatewayProcess:
    port = free_port()
    command = [sys.executable, "-P", "-m", "gateway", "serve", "--supergraph", str(supergraph), "--host", "127.0.0.1",
               "--port", str(port)]
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    # -P and PYTHONPATH: the source tree decides, not the working directory nor the editable install
    return GatewayProcess(name, command, port, workdir / f"{name}.log", {**env, "PYTHONPATH": str(source)})


def one_round(process: GatewayProcess, fixtures_pid: int, subscribers: int, duration: float) -> dict[str, Any]:
    assert process.process is not None
    pid = process.process.pid
    marks: dict[str, tuple[float | None, float | None]] = {}
    url = process.url.replace("http://", "ws://")
    result = fan_out(url, W4_QUERY, subscribers, duration,
                     window=lambda mark: marks.__setitem__(mark, (cpu_seconds(pid), cpu_seconds(fixtures_pid))))
    figures: dict[str, Any] = result.as_dict()
    (g0, s0), (g1, s1) = marks["start"], marks["stop"]
    if result.events and None not in (g0, g1, s0, s1):
        figures["gateway_cpu_ms_per_event"] = (g1 - g0) * 1000 / result.events  # type: ignore[operator]
        figures["subgraphs_cpu_ms_per_event"] = (s1 - s0) * 1000 / result.events  # type: ignore[operator]
    return figures


def medians(rounds: list[dict[str, Any]]) -> dict[str, float]:
    return {f: statistics.median(r[f] for r in rounds if f in r) for f in FIGURES if any(f in r for r in rounds)}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cores, note = assign_cores()
    print(note, flush=True)
    with tempfile.TemporaryDirectory(prefix="fanout-ab-") as tmp:
        workdir = Path(tmp)
        ports = {name: free_port() for name in FIXTURE_ORDER}
        urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
        setup = gateways.Setup(workdir / "supergraph.graphql", {}, urls, workdir)
        node = gateways.node_binary(setup) or "node"
        fixtures = start_fixtures(str(node), ports, args.event_ms, workdir / "fixtures.log")
        variants = {"baseline": gateway("baseline", args.baseline.resolve(), setup.supergraph, cores["gateway"],
                                        workdir),
                    "this": gateway("this", REPO_ROOT, setup.supergraph, cores["gateway"], workdir)}
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        load_start = os.getloadavg()
        try:
            setup.supergraph.write_text(compose(urls))
            for name, process in variants.items():
                process.start()
                answer = w4_stable(first_event(process.url.replace("http://", "ws://"), W4_QUERY))
                if answer != W4_STABLE_EXPECTED:
                    raise SystemExit(f"{name} answers W4 wrongly: {json.dumps(answer)[:500]}")
                one_round(process, fixtures.pid, args.subscribers, args.warmup)
            order = list(variants)
            for index in range(args.rounds):
                for name in order if index % 2 == 0 else order[::-1]:
                    figures = one_round(variants[name], fixtures.pid, args.subscribers, args.duration)
                    rounds[name].append(figures)
                    print(f"  round {index + 1} {name:<8} " + " ".join(
                        f"{f} {figures[f]:.3f}" for f in FIGURES if f in figures) + f" errors {figures['errors']}",
                        flush=True)
        finally:
            for process in variants.values():
                process.stop()
            stop(fixtures)
    summary = {name: medians(r) for name, r in rounds.items()}
    ratios = {f: summary["this"][f] / summary["baseline"][f]
              for f in FIGURES if summary["baseline"].get(f) and f in summary["this"]}
    print(f"\n{args.subscribers} subscribers, an event every {args.event_ms} ms "
          f"({args.subscribers * 1000 / args.event_ms:,.0f} events/s offered); medians of {args.rounds} rounds "
          f"x {args.duration:g} s; load average {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    print(f"{'':<10}" + "".join(f"{f:>28}" for f in FIGURES))
    for name, figures in (*summary.items(), ("ratio", ratios)):
        print(f"{name:<10}" + "".join(f"{figures.get(f, float('nan')):>28.3f}" for f in FIGURES))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()}, "cores": cores,
                                    "load_average": [load_start, os.getloadavg()], "medians": summary,
                                    "ratios": ratios, "rounds": rounds}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
