"""Peer benchmark: our gateway beside Apollo Gateway, Hive Gateway (and its Rust planner) and Grafbase.

    .venv/bin/python bench/peers/run.py [--duration 5] [--rounds 3] [--warmup 2] [--connections 50]
        [--workloads W1,W2,W3,W4] [--gateways ours,apollo-gateway,...] [--subscribers 50] [--event-ms 20]
        [--open-loop 0.25,0.5,0.8] [--open-loop-duration 4] [--open-loop-connections 100]

The same Node fixture subgraphs (bench/gateway/subgraphs.js) behind every gateway. Each gateway is
first checked to return the expected JSON on every workload (a diff is printed and the gateway left
out of that workload otherwise). Gateways run on core 0, the load generator and the subgraphs on
core 1 (our two-worker gateway on cores 0-1: the multi-core figure); after a warm-up, rounds
alternate between the gateways, their order rotated every round; the tables give medians. Then, per
HTTP workload, a fixed-rate pass (bench/peers/open_loop.py): every gateway offered the same rates, so
that latency is compared below saturation too.
Peers are installed by `python -m scripts.install_bench_peers` and skipped, with the reason, when
absent. Writes var/bench/peers.json (every round's figures). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402

from bench.gateway import openloop  # noqa: E402
from bench.gateway.loadgen import FALLBACK_WARNING, run_load, wrk_available  # noqa: E402
from bench.gateway.procstat import cpu_seconds, rss_bytes, run_queue_seconds  # noqa: E402
from bench.gateway.run import free_port, stop, wait_until  # noqa: E402
from bench.peers import gateways, open_loop, report  # noqa: E402
from bench.peers.gateways import Gateway, Setup  # noqa: E402
from bench.peers.subscribers import fan_out, first_event  # noqa: E402
from bench.peers.workloads import SUBGRAPH_SDLS, WORKLOADS, Workload, w4_stable  # noqa: E402
from scripts.install_bench_peers import DEFAULT_DIR, PEERS  # noqa: E402

FIXTURES_JS = REPO_ROOT / "bench" / "gateway" / "subgraphs.js"
FIXTURE_ORDER = ("products", "reviews", "users", "orders")
MIB = 1024 * 1024


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per gateway and workload")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, of " + ",".join(WORKLOADS))
    parser.add_argument("--gateways", default=",".join(gateways.ALL),
                        help="comma-separated, of " + ",".join(gateways.ALL))
    parser.add_argument("--subscribers", type=int, default=50, help="W4: clients subscribed to the order")
    parser.add_argument("--event-ms", type=int, default=20, help="W4: the subgraph emits an event every N ms")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--open-loop", default="0.25,0.5,0.8",
                        help="fixed-rate pass: fractions of our gateway's closed-loop req/s ('' for none)")
    parser.add_argument("--open-loop-duration", type=float, default=4.0, help="seconds per fixed-rate round")
    parser.add_argument("--open-loop-connections", type=int, default=100)
    parser.add_argument("--peers-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "bench" / "peers.json")
    args = parser.parse_args(argv)
    args.workload_names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.gateway_names = [g.strip() for g in args.gateways.split(",") if g.strip()]
    try:
        args.open_fractions = [float(f) for f in args.open_loop.split(",") if f.strip()]
    except ValueError:
        parser.error(f"--open-loop takes comma-separated fractions, got {args.open_loop!r}")
    unknown = sorted(set(args.workload_names) - set(WORKLOADS)) + sorted(set(args.gateway_names) - set(gateways.ALL))
    if unknown:
        parser.error(f"unknown workload(s) or gateway(s): {', '.join(unknown)}")
    return args


def assign_cores() -> tuple[dict[str, str | None], str]:
    """taskset lists for the gateways and the load side; this process (hence wrk, the subgraphs and
    the subscribers it starts) moves to the load core."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return {"gateway": None, "two_workers": None, "load": None}, "no pinning (fewer than 2 cores or no taskset)"
    gateway_core, load_core = cpus[0], cpus[1]
    os.sched_setaffinity(0, {load_core})
    cores: dict[str, str | None] = {"gateway": str(gateway_core), "two_workers": f"{gateway_core},{load_core}",
                                    "load": str(load_core)}
    note = (f"gateways on core {gateway_core}; wrk, subgraphs and subscribers on core {load_core}; "
            f"our two-worker gateway on cores {gateway_core},{load_core}, so its second worker shares core "
            f"{load_core} with the load generator and the subgraphs")
    return cores, note


T = TypeVar("T")


def on_core(cores: dict[str, str | None], start: Callable[[], T]) -> T:
    """`start()` with this process on the gateway core, so that what it spawns runs there (threads too)."""
    if cores["gateway"] is None or cores["load"] is None:
        return start()
    os.sched_setaffinity(0, {int(cores["gateway"])})
    try:
        return start()
    finally:
        os.sched_setaffinity(0, {int(cores["load"])})


def start_fixtures(node: str, ports: dict[str, int], event_ms: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen([node, str(FIXTURES_JS), *(str(ports[n]) for n in FIXTURE_ORDER), str(event_ms)],
                                stdout=out, stderr=subprocess.STDOUT)
    for name in FIXTURE_ORDER:
        url = f"http://127.0.0.1:{ports[name]}/graphql"
        wait_until(lambda u=url: httpx.get(u, timeout=2).status_code == 200, "node fixture subgraphs", proc)
    return proc


def compose(urls: dict[str, str]) -> str:
    from gateway.composition import SubgraphSource
    from gateway.composition import compose as compose_supergraph

    return str(compose_supergraph([SubgraphSource(name=n, url=urls[n], sdl=s) for n, s in SUBGRAPH_SDLS.items()]))


def start_gateways(names: list[str], setup: Setup) -> tuple[dict[str, Gateway], dict[str, str]]:
    started: dict[str, Gateway] = {}
    skipped: dict[str, str] = {}
    for name in names:
        reason = gateways.unavailable(name, setup)
        if reason:
            skipped[name] = reason
            print(f"skip {name}: {reason}", flush=True)
            continue
        gateway = gateways.make(name, setup, free_port())
        try:
            gateway.process.start()
        except (RuntimeError, OSError) as exc:
            skipped[name] = f"did not start: {str(exc).splitlines()[0] if str(exc) else exc!r}"
            print(f"skip {name}: {exc}", flush=True)
            continue
        print(f"started {name} on {gateway.process.url} (cores {gateway.cpus or 'any'})", flush=True)
        started[name] = gateway
    return started, skipped


def fetch_answer(gateway: Gateway, workload: Workload) -> Any:
    if workload.subscription:
        assert gateway.ws_url is not None
        return w4_stable(first_event(gateway.ws_url, workload.query))
    response = httpx.post(gateway.process.url, json={"query": workload.query}, timeout=30)
    try:
        return response.json()
    except ValueError:
        return {"http_status": response.status_code, "body": response.text[:500]}


def verify(started: dict[str, Gateway], workload: Workload) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The gateways that answer ``workload`` right; the diffs of those that do not; those that cannot."""
    ok: list[str] = []
    diffs: dict[str, str] = {}
    unsupported: dict[str, str] = {}
    for name, gateway in started.items():
        if workload.subscription and gateway.ws_url is None:
            unsupported[name] = "no subscriptions (@apollo/gateway does not support them)"
            continue
        try:
            answer = fetch_answer(gateway, workload)
        except Exception as exc:  # any failure to answer excludes the gateway from the workload
            diffs[name] = f"no answer: {type(exc).__name__}: {exc}"
        else:
            diff = report.answer_diff(workload.expected, answer, name)
            if diff is None:
                ok.append(name)
                continue
            diffs[name] = diff
        print(f"{workload.name}: {name} answers differently, left out of {workload.name}:\n{diffs[name]}", flush=True)
    return ok, diffs, unsupported


def http_round(gateway: Gateway, workload: Workload, args: argparse.Namespace, duration: float) -> dict[str, Any]:
    pid = _pid(gateway)
    before, waited, started = cpu_seconds(pid), run_queue_seconds(pid), time.monotonic()
    result = run_load(gateway.process.url, json.dumps({"query": workload.query}), args.connections, duration,
                      args.use_wrk)
    after, elapsed = cpu_seconds(pid), time.monotonic() - started
    figures = result.as_dict()
    if before is not None and after is not None and result.requests:
        figures["cpu_ms_per_request"] = (after - before) * 1000 / result.requests
        figures["core_share"] = (after - before) / elapsed
    return _with_rss(_with_wait(figures, pid, waited, elapsed), pid)


def open_loop_round(gateway: Gateway, workload: Workload, args: argparse.Namespace, binary: Path,
                    rate: float) -> dict[str, Any]:
    pid = _pid(gateway)
    before = cpu_seconds(pid)
    result = openloop.run_open_loop(binary, gateway.process.url, json.dumps({"query": workload.query}), rate,
                                    args.open_loop_connections, args.open_loop_duration, warmup=1.0)
    after = cpu_seconds(pid)
    figures = result.as_dict()
    sent = result.sent + result.warmup_sent  # the CPU window holds the warm-up too
    if before is not None and after is not None and sent:
        figures["cpu_ms_per_request"] = (after - before) * 1000 / sent
    return figures


def measure_open_loop(started: dict[str, Gateway], names: list[str], workload: Workload,
                      summaries: dict[str, dict[str, Any]], args: argparse.Namespace,
                      binary: Path) -> dict[str, Any]:
    single = [n for n in names if n != gateways.OURS_2W]  # one process on one core each
    rates = open_loop.offered_rates(summaries, gateways.OURS, args.open_fractions)
    print(f"  {workload.name} fixed rate ({', '.join(f'{r:,.0f}' for r in rates)} req/s, "
          f"{args.open_loop_connections} connections, {args.open_loop_duration:g} s rounds)", flush=True)
    return open_loop.measure(single, summaries, rates, args.rounds,
                             lambda name, rate: open_loop_round(started[name], workload, args, binary, rate),
                             report.rotated)


def subscription_round(gateway: Gateway, workload: Workload, args: argparse.Namespace, duration: float,
                       subscribers: int) -> dict[str, Any]:
    pid = _pid(gateway)
    marks: dict[str, tuple[float | None, float | None, float, float]] = {}

    def window(mark: str) -> None:
        marks[mark] = (cpu_seconds(pid), run_queue_seconds(pid), time.monotonic(), time.process_time())

    assert gateway.ws_url is not None
    result = fan_out(gateway.ws_url, workload.query, subscribers, duration, window=window)
    figures = result.as_dict()
    figures["expected_events_per_second"] = subscribers * 1000 / args.event_ms
    unset: tuple[float | None, float | None, float, float] = (None, None, 0.0, 0.0)
    (start, waited, t0, c0), (end, _, t1, c1) = marks.get("start", unset), marks.get("stop", unset)
    if start is not None and end is not None and result.events:
        figures["cpu_ms_per_event"] = (end - start) * 1000 / result.events
        figures["core_share"] = (end - start) / (t1 - t0)
        # The subscribers run in this process: near 1.0, the load side (not the gateway) is the limit.
        figures["subscribers_core_share"] = (c1 - c0) / (t1 - t0)
        _with_wait(figures, pid, waited, t1 - t0)
    return _with_rss(figures, pid)


def _pid(gateway: Gateway) -> int:
    assert gateway.process.process is not None
    return gateway.process.process.pid


def _with_wait(figures: dict[str, Any], pid: int, before: float | None, elapsed: float) -> dict[str, Any]:
    """The gateway's threads' run-queue wait over the window's wall time (schedstat, summed)."""
    after = run_queue_seconds(pid)
    if before is not None and after is not None and elapsed > 0:
        figures["run_queue_share"] = (after - before) / elapsed
    return figures


def _with_rss(figures: dict[str, Any], pid: int) -> dict[str, Any]:
    rss = rss_bytes(pid)
    figures["rss_mib"] = rss / MIB if rss is not None else None
    return figures


def measure(started: dict[str, Gateway], names: list[str], workload: Workload,
            args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    def one(name: str, duration: float, subscribers: int) -> dict[str, Any]:
        if workload.subscription:
            return subscription_round(started[name], workload, args, duration, subscribers)
        return http_round(started[name], workload, args, duration)

    for name in names:
        one(name, args.warmup, max(1, args.subscribers // 5))
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for index in range(args.rounds):
        for name in report.rotated(names, index):
            figures = {"round": index + 1, **one(name, args.duration, args.subscribers)}
            rounds[name].append(figures)
            rate = figures.get("events_per_second", figures.get("requests_per_second", 0.0))
            cpu = figures.get("cpu_ms_per_event", figures.get("cpu_ms_per_request"))
            print(f"  {workload.name} round {index + 1}/{args.rounds} {name:<22} {rate:>9,.0f}/s "
                  f"p50 {figures['p50_ms']:.2f} ms p99 {figures['p99_ms']:.2f} ms "
                  f"CPU {cpu if cpu is None else round(cpu, 3)} ms errors {figures['errors']}", flush=True)
    return rounds


def node_version(node: str) -> str:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, check=False)
    return out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv or [])  # `python -m bench` calls main() with no arguments
    args.use_wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and wrk_available())
    if args.loadgen == "wrk" and not wrk_available():
        print("wrk not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    loadgen = "wrk" if args.use_wrk else "python-aiohttp (wrk not found or --loadgen python)"
    if not args.use_wrk:
        print(FALLBACK_WARNING, file=sys.stderr, flush=True)
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        cores, core_note = assign_cores()
        print(f"load generator: {loadgen}; {core_note}", flush=True)
        return run(args, loadgen, cores, core_note)
    finally:  # `python -m bench` runs the next benchmark in this process
        if affinity is not None:
            os.sched_setaffinity(0, affinity)


def run(args: argparse.Namespace, loadgen: str, cores: dict[str, str | None], core_note: str) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        workdir = Path(tmp)
        ports = {name: free_port() for name in FIXTURE_ORDER}
        urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
        supergraph = workdir / "supergraph.graphql"
        setup = Setup(supergraph, SUBGRAPH_SDLS, urls, workdir, args.peers_dir.resolve(), cores["gateway"],
                      cores["two_workers"])
        node = gateways.node_binary(setup) or shutil.which("node")
        if node is None:
            print("node is required for the fixture subgraphs", file=sys.stderr)
            return 2
        results: dict[str, Any] = {
            "settings": {k: getattr(args, k) for k in ("duration", "rounds", "warmup", "connections", "subscribers",
                                                       "event_ms")},
            "load_generator": loadgen,
            "cores": {**cores, "note": core_note},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "node": node_version(str(node)),
                        "load_average_start": os.getloadavg(), "ours": ours_build()},
            "versions": dict(PEERS),
            "workloads": {},
        }
        fixtures: subprocess.Popen[bytes] | None = None
        started: dict[str, Gateway] = {}
        exit_code = 0
        binary, results["open_loop"] = open_loop_generator(args)
        try:
            fixtures = start_fixtures(str(node), ports, args.event_ms, workdir / "fixtures.log")
            supergraph.write_text(compose(urls))
            started, results["skipped"] = start_gateways(args.gateway_names, setup)
            for ours in gateways.OURS_ALL:
                if ours in args.gateway_names and ours not in started:
                    exit_code = 1
            for workload in (WORKLOADS[w] for w in args.workload_names):
                ok, diffs, unsupported = verify(started, workload)
                print(f"\n{workload.name} ({workload.description}): {', '.join(ok) or 'no gateway'} answer right",
                      flush=True)
                if any(name in diffs for name in gateways.OURS_ALL):
                    exit_code = 1
                summaries = {n: report.summarize(r) for n, r in measure(started, ok, workload, args).items()}
                relative_to = report.add_ratios(summaries, workload.subscription)
                results["workloads"][workload.name] = {
                    "description": workload.description,
                    "subscription": workload.subscription,
                    "query": workload.query,
                    "answer_bytes": None if workload.subscription else len(json.dumps(workload.expected,
                                                                                     separators=(",", ":"))),
                    "gateways": summaries,
                    "relative_to": relative_to,
                    "excluded": diffs,
                    "unsupported": unsupported,
                    "scaling": report.scaling(summaries, gateways.OURS, gateways.OURS_2W, workload.subscription),
                }
                if binary is not None and not workload.subscription and args.open_fractions:
                    results["workloads"][workload.name]["open_loop"] = measure_open_loop(
                        started, ok, workload, summaries, args, binary)
        finally:
            for gateway in started.values():
                gateway.process.stop()
            stop(fixtures)
        results["machine"]["load_average_end"] = os.getloadavg()

    print_results(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}")
    return exit_code


def open_loop_generator(args: argparse.Namespace) -> tuple[Path | None, str]:
    """bench/openloop built into var/bench-tools, or None and why the fixed-rate pass is skipped."""
    if not args.open_fractions:
        return None, "not asked for (--open-loop '')"
    try:
        binary = openloop.build(REPO_ROOT / "var" / "bench-tools")
    except RuntimeError as exc:
        print(f"fixed-rate pass skipped: bench/openloop did not compile:\n{exc}", flush=True)
        return None, "bench/openloop did not compile"
    if binary is None:
        print("fixed-rate pass skipped: no C compiler (cc or gcc) to build bench/openloop", flush=True)
        return None, "skipped: no C compiler"
    return binary, (f"bench/openloop: fractions {args.open_fractions} of ours' closed-loop req/s, "
                    f"{args.open_loop_connections} connections, {args.rounds} rounds x {args.open_loop_duration:g} s "
                    "after 1 s warm-up, medians; latency from each request's intended send time")


def ours_build() -> str:
    """Which build of the gateway's hot modules our gateway loads (compiled or pure Python)."""
    import gateway

    return str(gateway.NATIVE_SELECTED)


def print_results(results: dict[str, Any]) -> None:
    settings, machine = results["settings"], results["machine"]
    print(f"\n{results['load_generator']}; {settings['connections']} connections, {settings['rounds']} rounds x "
          f"{settings['duration']:g} s after {settings['warmup']:g} s warm-up, medians; {results['cores']['note']}")
    print("load average at start {:.2f} {:.2f} {:.2f}, at end {:.2f} {:.2f} {:.2f}".format(
        *machine["load_average_start"], *machine["load_average_end"]))
    print(f"ours: {machine.get('ours', 'build unknown')}")
    for line in report.skipped_lines(results.get("skipped", {})):
        print(line)
    for name, outcome in results["workloads"].items():
        subscription = outcome["subscription"]
        size = "" if subscription else f" ({outcome['answer_bytes']:,} B answer)"
        print(f"\n{name}: {outcome['description']}{size}")
        if subscription:
            print(f"  {settings['subscribers']} subscribers, an event every {settings['event_ms']} ms: "
                  f"{settings['subscribers'] * 1000 / settings['event_ms']:,.0f} events/s expected")
        print(report.table(outcome["gateways"], subscription))
        rel = outcome["relative_to"]
        print(f"  vs best Node = over {rel['best_node_peer'] or 'no Node peer'}; "
              f"vs Grafbase = over {rel['grafbase'] or 'no Grafbase'}")
        clients = [r["subscribers_core_share"] for g in outcome["gateways"].values() for r in g["rounds"]
                   if r.get("subscribers_core_share") is not None]
        if clients:
            print(f"  the subscribers (one Python process on the load core) used {100 * min(clients):.0f}-"
                  f"{100 * max(clients):.0f}% of a core per round: near 100, the load side is the limit")
        if outcome["scaling"]:
            s = outcome["scaling"]
            print(f"  multi-core: {gateways.OURS_2W} / {gateways.OURS}: throughput "
                  f"{s.get('throughput_ratio', 0):.2f}x, CPU per unit {s.get('cpu_per_unit_ratio', 0):.2f}x")
        fixed = outcome.get("open_loop")
        if fixed:
            print(f"  fixed rate ({results['open_loop']}):")
            print("\n".join("  " + line for line in open_loop.table(fixed).splitlines()))
            for gateway, reasons in fixed["not_offered"].items():
                print(f"  not offered to {gateway}: {'; '.join(reasons)}")
        for gateway, reason in outcome["unsupported"].items():
            print(f"  skipped {gateway}: {reason}")
        for gateway in outcome["excluded"]:
            print(f"  excluded {gateway}: its answer differs (diff printed above, and in the JSON)")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
