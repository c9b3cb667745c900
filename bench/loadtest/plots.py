"""The report's PNG plots (matplotlib, headless Agg backend). Each function writes one file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from PIL import Image

from bench.loadtest.analysis import SagaLatency, Window
from bench.loadtest.sampler import Sample

DPI = 80
SIZE = (9, 4)


def _spike(axes: Axes, spike: tuple[float, float]) -> None:
    axes.axvspan(*spike, color="tab:red", alpha=0.08, label="checkout spike")


def _save(figure: plt.Figure, path: Path) -> Path:
    """Save as a palette PNG (a few dozen KB: small enough to commit into docs/)."""
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)
    return path


def throughput(per_op: dict[str, list[Window]], spike: tuple[float, float], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=SIZE)
    for name, series in per_op.items():
        axes.plot([w.start for w in series], [w.rps for w in series], label=name, linewidth=1.2)
    _spike(axes, spike)
    axes.set(xlabel="seconds since start", ylabel="requests/s", title="Requests per second by operation")
    axes.legend(fontsize=7, ncol=2, loc="upper left")
    return _save(figure, path)


def latency(per_op: dict[str, list[Window]], spike: tuple[float, float], path: Path) -> Path:
    figure, grid = plt.subplots(1, 3, figsize=(12, 4), sharey=True)
    for axes, (label, pick) in zip(grid, (("p50", lambda w: w.p50), ("p95", lambda w: w.p95),
                                          ("p99", lambda w: w.p99)), strict=True):
        for name, series in per_op.items():
            points = [(w.start, pick(w)) for w in series if pick(w) is not None]
            if points:
                axes.plot(*zip(*points, strict=True), label=name, linewidth=1.1)
        _spike(axes, spike)
        axes.set(xlabel="seconds since start", title=f"{label} latency", yscale="log")
    grid[0].set_ylabel("ms (log scale)")
    grid[0].legend(fontsize=6, loc="upper left")
    return _save(figure, path)


def saga(latencies: Sequence[SagaLatency], spike: tuple[float, float], path: Path) -> Path:
    figure, (hist, scatter) = plt.subplots(1, 2, figsize=SIZE)
    seconds = [s.seconds for s in latencies]
    if seconds:
        hist.hist(seconds, bins=min(40, max(5, len(seconds) // 4)), color="tab:blue")
        scatter.scatter([s.placed for s in latencies], seconds, s=6, alpha=0.6)
    else:
        hist.text(0.5, 0.5, "no order was paid", ha="center", transform=hist.transAxes)
    hist.set(xlabel="placed -> paid (s)", ylabel="orders", title="Saga completion: distribution")
    _spike(scatter, spike)
    scatter.set(xlabel="placed at (s since start)", ylabel="placed -> paid (s)", title="... by when it was placed")
    return _save(figure, path)


def errors(by_code: Counter[tuple[str, str, str]], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=SIZE)
    if by_code:
        items = by_code.most_common(12)
        labels = [f"{op}\nHTTP {status} {code}" for (op, status, code), _ in items]
        axes.barh(range(len(items)), [n for _, n in items], color="tab:red")
        axes.set_yticks(range(len(items)), labels, fontsize=7)
        axes.invert_yaxis()
    else:
        axes.text(0.5, 0.5, "no failed requests", ha="center", va="center", transform=axes.transAxes)
        axes.set_yticks([])
    axes.set(xlabel="failed requests", title="Errors by operation, HTTP status and GraphQL code")
    return _save(figure, path)


def queues(samples: Sequence[Sample], spike: tuple[float, float], path: Path) -> Path:
    figure, (depth, lag) = plt.subplots(1, 2, figsize=(12, 4))
    times = [s.t for s in samples]
    names = sorted({q for s in samples for q in s.queued})
    for name in names:
        depth.plot(times, [s.due.get(name, 0) for s in samples], label=f"{name}: due")
        depth.plot(times, [s.queued.get(name, 0) for s in samples], linestyle=":", label=f"{name}: queued")
    groups = sorted({g for s in samples for g in s.lag})
    for group in groups:
        lag.plot(times, [s.lag.get(group, 0) for s in samples], label=f"{group}: lag")
        lag.plot(times, [s.pending.get(group, 0) for s in samples], linestyle=":", label=f"{group}: pending")
    for axes in (depth, lag):
        _spike(axes, spike)
        axes.legend(fontsize=7)
    depth.set(xlabel="seconds since start", ylabel="jobs", title="arq queues (due: waiting for a worker)")
    lag.set(xlabel="seconds since start", ylabel="entries", title="Event stream consumer groups")
    return _save(figure, path)


def cpu(samples: Sequence[Sample], spike: tuple[float, float], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=SIZE)
    names = sorted({n for s in samples for n in s.cpu})
    for name in names:
        axes.plot([s.t for s in samples], [s.cpu.get(name, 0) for s in samples], label=name, linewidth=1)
    _spike(axes, spike)
    axes.set(xlabel="seconds since start", ylabel="% of one core", title="CPU by process (load average dashed)")
    axes.legend(fontsize=6, ncol=3, loc="upper left")
    load = axes.twinx()
    load.plot([s.t for s in samples], [s.load1 for s in samples], color="black", linestyle="--", linewidth=1)
    load.set_ylabel("1-minute load average (2 cores here)")
    load.set_ylim(bottom=0)
    return _save(figure, path)
