"""Figures from a run's raw records: the request log Locust wrote, the samples, the order timelines."""

from __future__ import annotations

import csv
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.loadtest.harness import OrderTimeline


@dataclass(frozen=True)
class Request:
    t: float  # seconds since the load started (when it finished)
    name: str
    ms: float
    status: int  # HTTP status (0: no response)
    code: str  # GraphQL extensions.code(s), "+"-joined
    outcome: str  # the __typename of a union result (OrderPlaced, InsufficientStock, ...)
    failed: bool


@dataclass(frozen=True)
class Window:
    start: float
    count: int
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None


def read_requests(path: Path, started_at: float) -> list[Request]:
    rows = []
    with path.open(newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 7:
                continue  # a line cut short by a kill
            rows.append(Request(t=float(row[0]) - started_at, name=row[1], ms=float(row[2]), status=int(row[3] or 0),
                                code=row[4], outcome=row[5], failed=row[6] == "1"))
    return rows


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), nearest-rank; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def windows(requests: Iterable[Request], width: float, end: float) -> dict[str, list[Window]]:
    """Per operation, per window of `width` seconds from 0 to `end`: rate and latency percentiles."""
    buckets: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in requests:
        if 0 <= r.t < end:
            buckets[r.name][int(r.t // width)].append(r.ms)
    count = max(1, int(-(-end // width)))
    return {name: [Window(i * width, len(b.get(i, [])), len(b.get(i, [])) / width, percentile(b.get(i, []), 50),
                          percentile(b.get(i, []), 95), percentile(b.get(i, []), 99)) for i in range(count)]
            for name, b in sorted(buckets.items())}


@dataclass(frozen=True)
class OperationSummary:
    name: str
    count: int
    failures: int
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None


def summarize(requests: Sequence[Request], seconds: float, phase: tuple[float, float] | None = None
              ) -> list[OperationSummary]:
    """Per operation over the run (or over one phase [start, end)): counts, mean rate, percentiles."""
    chosen = [r for r in requests if phase is None or phase[0] <= r.t < phase[1]]
    span = (phase[1] - phase[0]) if phase else seconds
    by_name: dict[str, list[Request]] = defaultdict(list)
    for r in chosen:
        by_name[r.name].append(r)
    out = []
    for name, rows in sorted(by_name.items()):
        ms = [r.ms for r in rows if not r.failed]
        out.append(OperationSummary(name, len(rows), sum(r.failed for r in rows), len(rows) / max(span, 1e-9),
                                    percentile(ms, 50), percentile(ms, 95), percentile(ms, 99)))
    return out


def errors_by_code(requests: Iterable[Request]) -> Counter[tuple[str, str, str]]:
    """(operation, HTTP status, GraphQL code) of every failed request."""
    return Counter((r.name, "no response" if r.status == 0 else str(r.status), r.code or "-")
                   for r in requests if r.failed)


def outcomes(requests: Iterable[Request]) -> Counter[tuple[str, str]]:
    """(operation, typed result) of the mutations that answered with a union member."""
    return Counter((r.name, r.outcome) for r in requests if r.outcome and not r.failed)


def browse_share(requests: Sequence[Request], phase: tuple[float, float]) -> float | None:
    chosen = [r for r in requests if phase[0] <= r.t < phase[1]]
    if not chosen:
        return None
    return sum(r.name.startswith("products") for r in chosen) / len(chosen)


@dataclass(frozen=True)
class SagaLatency:
    order_id: str
    placed: float  # seconds since the load started
    seconds: float  # placed -> paid


def saga_latencies(timelines: Iterable[OrderTimeline], started_at: float) -> list[SagaLatency]:
    return sorted((SagaLatency(t.id, t.placed_at - started_at, t.paid_at - t.placed_at)
                   for t in timelines if t.placed_at is not None and t.paid_at is not None),
                  key=lambda s: s.placed)


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None
