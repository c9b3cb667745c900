"""The run's verdict and its Markdown report with plots: `var/loadtest/<timestamp>/report.md`.

A run fails when an invariant broke (I1-I4 of docs/guarantees.md: an oversell, a double charge, an order
stuck past its hold, ...), when the system did not rest within the bound, or when Locust did not finish;
the first lines of the report then name every violation.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from bench.loadtest import analysis, plots
from bench.loadtest.cache_probe import CacheFigures
from bench.loadtest.harness import SETTLE_MARGIN_SECONDS, LoadResult
from bench.loadtest.sampler import Sample
from tests.support.invariants import Violation, check_all, count_by_invariant

SECTIONS = ("## Parameters", "## Throughput and latency", "## Saga completion: placed -> paid",
            "## Errors by code", "## Queue depth and consumer lag", "## CPU and machine load", "## Invariants")
CACHE_SECTION = "## Gateway cache: hit rate and staleness"  # only with LOADTEST_CACHE=1
PLOTS = ("throughput.png", "latency.png", "saga.png", "errors.png", "queues.png", "cpu.png")
# What each invariant guards, in the words of the brief.
KINDS = {"I1": "stock (oversell, lost or leaked units)", "I2": "money (a capture that does not match the order)",
         "I3": "effects once (a double charge, refund or notification)", "I4": "liveness (an order or event stuck)"}


def failures(result: LoadResult) -> list[str]:
    """Why the run fails, one line per broken rule (with its count and first case); empty when it passes."""
    by_rule: dict[tuple[str, str], list[Violation]] = {}
    for violation in result.violations:
        by_rule.setdefault((violation.invariant, violation.rule), []).append(violation)
    found = [f"{invariant} {KINDS[invariant].split(' (')[0]}, {rule}: {len(cases)} violation(s), first: {cases[0]}"
             for (invariant, rule), cases in sorted(by_rule.items())]
    if not result.settled:
        found.append(f"the system did not rest within the {result.settings.hold_seconds:.0f} s hold + "
                     f"{SETTLE_MARGIN_SECONDS:.0f} s (waited {result.settle_seconds:.0f} s)")
    if result.locust_exit != 0:
        found.append(f"Locust did not finish cleanly (exit {result.locust_exit}; see locust.log)")
    return found


def recheck(result: LoadResult) -> list[Violation]:
    """Run the checks again over the result's state (after a change to it)."""
    result.violations = check_all(result.state, result.initial)
    return result.violations


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def write_report(result: LoadResult) -> tuple[Path, int]:
    """Write report.md, the plots and samples.json into the run's folder; return (report, exit code)."""
    s = result.settings
    out = result.out_dir
    plot_dir = out / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    requests = analysis.read_requests(result.requests_csv, result.started_at)
    spike = (s.before, s.before + s.spike)
    phases = {"before": (0.0, s.before), "spike": spike, "after": (spike[1], s.duration)}
    per_op = analysis.windows(requests, s.window, s.duration)
    sagas = analysis.saga_latencies(result.timelines, result.started_at)
    by_code = analysis.errors_by_code(requests)
    plots.throughput(per_op, spike, plot_dir / "throughput.png")
    plots.latency(per_op, spike, plot_dir / "latency.png")
    plots.saga(sagas, spike, plot_dir / "saga.png")
    plots.errors(by_code, plot_dir / "errors.png")
    plots.queues(result.samples, spike, plot_dir / "queues.png")
    plots.cpu(result.samples, spike, plot_dir / "cpu.png")
    (out / "samples.json").write_text(json.dumps([asdict(x) for x in result.samples]))

    failed = failures(result)
    lines: list[str] = []
    if failed:
        lines += ["# Load test: order spike — FAILED", "", "**The run failed:**", ""]
        lines += [f"- {reason}" for reason in failed]
        lines += ["", "Every violation is listed under Invariants below."]
    else:
        lines += ["# Load test: order spike — passed", "",
                  "No invariant broke: no oversell, no double charge, no order stuck past its hold."]
    lines += ["", f"Run of {_when(result.started_at)}; raw data beside this file (requests.csv, samples.json, "
              "locust_*.csv, logs/)."]

    lines += ["", SECTIONS[0], "", "| parameter | value |", "| --- | --- |"]
    for key, value in s.describe().items():
        lines.append(f"| {key} | {value} |")
    lines += [f"| load average (1, 5, 15 min) before | {_load(result.load_before)} |",
              f"| load average (1, 5, 15 min) after | {_load(result.load_after)} |"]
    share = analysis.browse_share(requests, phases["before"]) if s.before else None
    if share is not None:
        lines.append(f"| measured products share before the spike | {share:.0%} |")

    lines += ["", SECTIONS[1], "", "Per operation and phase: requests, failures, mean requests/s and latency "
              "percentiles (ms, successful requests).", "",
              "| phase | operation | requests | failed | req/s | p50 | p95 | p99 |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for phase, span in phases.items():
        if span[1] <= span[0]:
            continue
        for op in analysis.summarize(requests, s.duration, span):
            lines.append(f"| {phase} | {op.name} | {op.count} | {op.failures} | {op.rps:.1f} | {_ms(op.p50)} | "
                         f"{_ms(op.p95)} | {_ms(op.p99)} |")
    lines += ["", f"Over time, in windows of {s.window:.0f} s (the shaded band is the spike):", "",
              "![requests per second](plots/throughput.png)", "", "![latency percentiles](plots/latency.png)"]
    placed = Counter(r.outcome for r in requests if r.name == "checkout: placeOrder" and r.outcome)
    if placed:
        lines += ["", "placeOrder results: " + ", ".join(f"{k} {v}" for k, v in placed.most_common()) + "."]

    statuses = Counter(t.status for t in result.timelines)
    reasons = Counter((t.reason or "-") for t in result.timelines if t.status == "CANCELLED")
    seconds = [x.seconds for x in sagas]
    in_spike = [x.seconds for x in sagas if spike[0] <= x.placed < spike[1]]
    lines += ["", SECTIONS[2], "", "From each order's timeline in the orders database (AWAITING_PAYMENT -> PAID).",
              "", f"Orders: {len(result.timelines)} ({', '.join(f'{k} {v}' for k, v in statuses.most_common())}). "
              + (f"Cancelled because: {', '.join(f'{k} ({v})' for k, v in reasons.most_common())}." if reasons else ""),
              "", _payments_line(result),
              "", "| orders paid | median s | p95 s | p99 s | max s | median s, placed during the spike |",
              "| ---: | ---: | ---: | ---: | ---: | ---: |",
              f"| {len(seconds)} | {_s(analysis.median(seconds))} | {_s(analysis.percentile(seconds, 95))} | "
              f"{_s(analysis.percentile(seconds, 99))} | {_s(max(seconds) if seconds else None)} | "
              f"{_s(analysis.median(in_spike))} |", "", "![saga completion](plots/saga.png)"]

    lines += ["", SECTIONS[3], ""]
    if by_code:
        lines += ["| operation | HTTP status | GraphQL code | requests |", "| --- | --- | --- | ---: |"]
        lines += [f"| {op} | {status} | {code} | {n} |" for (op, status, code), n in by_code.most_common()]
    else:
        lines.append("No request failed (every answer was HTTP 200 with data and no GraphQL error).")
    lines += ["", "![errors](plots/errors.png)"]

    lines += ["", SECTIONS[4], "", f"Sampled every {s.sample_interval:g} s from Redis (arq queues: ZCARD, and "
              "ZCOUNT of the due jobs) and from orders' `/events/stats` (consumer groups), through quiescence"
              + (f"; {result.sample_errors} samples failed" if result.sample_errors else "") + ".", "",
              "| series | max | median during the spike |", "| --- | ---: | ---: |"]
    spike_samples = [x for x in result.samples if spike[0] <= x.t < spike[1]]
    for label, pick in _series(result):
        values = [pick(x) for x in result.samples]
        during = [pick(x) for x in spike_samples]
        lines.append(f"| {label} | {max(values) if values else '-'} | "
                     f"{statistics.median(during) if during else '-'} |")
    lines += ["", "![queues and consumer lag](plots/queues.png)"]

    lines += ["", SECTIONS[5], "", "CPU per process (100% = one core; from /proc) and the 1-minute load average "
              "(the machine may be shared with other work).", "", "| process | mean CPU % during the spike |",
              "| --- | ---: |"]
    names = sorted({n for x in spike_samples for n in x.cpu})
    for name in sorted(names, key=lambda n: -statistics.mean(x.cpu.get(n, 0) for x in spike_samples)):
        lines.append(f"| {name} | {statistics.mean(x.cpu.get(name, 0) for x in spike_samples):.0f} |")
    lines += ["", "![cpu](plots/cpu.png)"]

    if result.cache is not None:
        lines += ["", CACHE_SECTION, "", *_cache_lines(result.cache)]

    counts = count_by_invariant(result.violations)
    lines += ["", SECTIONS[6], "", f"Checked after quiescence ({'rested' if result.settled else 'did NOT rest'} "
              f"after {result.settle_seconds:.0f} s), with the chaos suite's checks (tests/support/invariants.py).",
              "", "| invariant | violations |", "| --- | ---: |"]
    lines += [f"| {name} {KINDS[name]} | {n} |" for name, n in counts.items()]
    if result.violations:
        lines += ["", *[f"- {v}" for v in result.violations[:200]]]
    if result.notes:
        lines += ["", *[f"- {note}" for note in result.notes]]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report, 1 if failed else 0


def _series(result: LoadResult) -> list[tuple[str, Callable[[Sample], int]]]:
    queues = sorted({q for x in result.samples for q in x.queued})
    groups = sorted({g for x in result.samples for g in x.lag})
    found: list[tuple[str, Callable[[Sample], int]]] = []
    for q in queues:
        found.append((f"queue {q}: due", _pick("due", q)))
        found.append((f"queue {q}: queued", _pick("queued", q)))
    for g in groups:
        found.append((f"group {g}: lag", _pick("lag", g)))
        found.append((f"group {g}: pending", _pick("pending", g)))
    return found


def _pick(series: str, key: str) -> Callable[[Sample], int]:
    def pick(sample: Sample) -> int:
        values: dict[str, int] = getattr(sample, series)
        return values.get(key, 0)
    return pick


def _cache_lines(cache: CacheFigures) -> list[str]:
    lines = ["The gateway's `gateway_cache_lookups_total` after the load (a `response_local` miss goes on to a "
             "`response` lookup in Redis; entities are counted one by one):", "",
             "| kind | hits | misses | hit rate |", "| --- | ---: | ---: | ---: |"]
    for kind, (hits, misses) in cache.lookups.items():
        rate = f"{hits / (hits + misses):.1%}" if hits + misses else "-"
        lines.append(f"| {kind} | {hits:.0f} | {misses:.0f} | {rate} |")
    lines += ["", f"Staleness: the spike product's stock read through the gateway (anonymous, cacheable) every "
              f"{cache.interval:g} s against the products database read just before and after "
              "(bench/loadtest/cache_probe.py).", "",
              "| probes | stale readings | stale stretches | median stretch s | longest stretch s | probe errors |",
              "| ---: | ---: | ---: | ---: | ---: | ---: |",
              f"| {cache.probes} | {cache.stale_share:.1%} | {len(cache.stretches)} | {_s(cache.stale_median)} | "
              f"{_s(cache.stale_max)} | {cache.errors} |"]
    return lines


def _payments_line(result: LoadResult) -> str:
    payments = result.state.payments.values()
    statuses = Counter(p.status for p in payments)
    refunded = sum(1 for p in payments if p.refunded)
    return (f"Payments: {len(payments)} ({', '.join(f'{k} {v}' for k, v in statuses.most_common())}); "
            f"{refunded} with a refund (a capture that came after its order was cancelled is refunded).")


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _when(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
