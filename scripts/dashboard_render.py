"""The dashboard's picture without Grafana (docs/observability.md): samples of a short real run, then the
panels of scripts/dashboard.py drawn with matplotlib from them.

    python -m scripts.dashboard_render capture --out var/dashboard/samples.jsonl   # stack on free ports
    python -m scripts.dashboard_render render var/dashboard/samples.jsonl docs/observability/dashboard.png

`capture` starts the whole stack on free ports (scripts.stack, logs in the output's directory), lets it
idle for `--idle` seconds (counting the INFO lines each process prints meanwhile), then runs the
shopper's journey (scripts.journey: a paid and a declined order each) from `--shoppers` concurrent
loops for `--seconds`, scraping every process's /metrics every `--every` seconds. Only the families
of deploy/grafana/metrics.yaml are kept. `render` evaluates each panel's query shape in Python (the
subset of PromQL the dashboard uses: rate, sum/max by, histogram_quantile, delta); a panel whose
metric no process served says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from scripts.dashboard import ROOT, ROWS

METRICS = set(yaml.safe_load((ROOT / "deploy" / "grafana" / "metrics.yaml").read_text())["metrics"])
Labels = tuple[tuple[str, str], ...]
Sample = tuple[float, str, str, Labels, float]  # time, target, name, labels, value
_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")


# --- capture -------------------------------------------------------------------------------------
def parse_exposition(text: str) -> Iterable[tuple[str, Labels, float]]:
    """Prometheus text format: (name, labels, value) of each sample line."""
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        labels = tuple(sorted(_labels(match["labels"]))) if match["labels"] else ()
        try:
            yield match["name"], labels, float(match["value"])
        except ValueError:
            continue


def _labels(body: str) -> Iterable[tuple[str, str]]:
    i = 0
    while i < len(body):
        eq = body.index("=", i)
        key = body[i:eq].strip().lstrip(",").strip()
        j = eq + 2  # past ="
        value = []
        while body[j] != '"':
            if body[j] == "\\":
                j += 1
            value.append(body[j])
            j += 1
        yield key, "".join(value)
        i = j + 1
        while i < len(body) and body[i] in ", ":
            i += 1


def _family(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count", "_created"):
        if name.endswith(suffix) and name[: -len(suffix)] in METRICS:
            return name[: -len(suffix)]
    return name


async def _capture(out: Path, idle: float, seconds: float, every: float, shoppers: int) -> None:
    import httpx

    from scripts.journey import Journey, run_journey
    from scripts.stack import Stack
    from subgraphs.kit.embedded_redis import free_ports

    worker_ports = dict(zip(("orders-worker", "payments-worker", "notifications-worker"), free_ports(3), strict=True))
    stack = Stack.on_free_ports(
        log_dir=out.parent / "logs", process_env={n: {"WORKER_METRICS_PORT": str(p)} for n, p in worker_ports.items()}
    )
    stack.start()
    try:
        targets = {name: f"http://127.0.0.1:{port}/metrics" for name, port in stack.ports.items()}
        targets |= {name: f"http://127.0.0.1:{port}/metrics" for name, port in worker_ports.items()}
        logs = sorted((out.parent / "logs").glob("*.log"))
        sizes = {p: p.stat().st_size for p in logs}
        await asyncio.sleep(idle)  # the idle window being measured, not synchronisation
        idle_lines = {p.stem: _info_lines(p.read_bytes()[sizes[p] :]) for p in logs}
        (out.parent / "idle-info-lines.json").write_text(json.dumps({"seconds": idle, "lines": idle_lines}, indent=2))
        stop = time.monotonic() + seconds
        outcomes: dict[str, int] = defaultdict(int)

        async def shopper() -> None:
            while time.monotonic() < stop:
                journey = Journey(stack.gateway_url, say=lambda *_: None)
                try:
                    await run_journey(journey)
                    outcomes["ok"] += 1
                except Exception as exc:  # a journey that fails still left its metrics
                    outcomes[type(exc).__name__] += 1
                finally:
                    await journey.aclose()

        async def scrape(client: httpx.AsyncClient, handle: Any) -> None:
            while time.monotonic() < stop + 2 * every:
                now = time.time()
                for name, url in targets.items():
                    try:
                        text = (await client.get(url)).text
                    except httpx.HTTPError:
                        continue
                    for metric, labels, value in parse_exposition(text):
                        if _family(metric) in METRICS:
                            handle.write(json.dumps([now, name, metric, labels, value]) + "\n")
                await asyncio.sleep(every)  # the scrape interval

        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w") as handle:
            async with httpx.AsyncClient(timeout=5) as client:
                await asyncio.gather(scrape(client, handle), *(shopper() for _ in range(shoppers)))
        print(f"journeys: {dict(outcomes)}; samples in {out}")
    finally:
        stack.stop()


def _info_lines(data: bytes) -> int:
    return sum(1 for line in data.decode(errors="replace").splitlines() if " INFO " in line or '"level":"info"' in line)


# --- evaluation ----------------------------------------------------------------------------------
class Samples:
    def __init__(self, rows: Iterable[Sample]) -> None:
        self.series: dict[tuple[str, str, Labels], list[tuple[float, float]]] = defaultdict(list)
        for t, target, name, labels, value in rows:
            self.series[(target, name, tuple((str(k), str(v)) for k, v in labels))].append((t, value))
        self.times = sorted({t for points in self.series.values() for t, _ in points})

    def of(
        self, name: str, match: Callable[[dict[str, str]], bool] = lambda _: True
    ) -> list[tuple[str, dict[str, str], list[tuple[float, float]]]]:
        return [
            (target, dict(labels), points)
            for (target, metric, labels), points in self.series.items()
            if metric == name and match(dict(labels))
        ]


def _at(points: list[tuple[float, float]], t: float) -> float | None:
    before = [v for ts, v in points if ts <= t]
    return before[-1] if before else None


def rate_by(
    samples: Samples,
    name: str,
    by: str,
    window: float,
    match: Callable[[dict[str, str]], bool] = lambda _: True,
    extra: Callable[[dict[str, str]], str] | None = None,
) -> dict[str, list[tuple[float, float]]]:
    """sum by (by) (rate(name[window])) at every scrape time."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in samples.times:
        totals: dict[str, float] = defaultdict(float)
        for _target, labels, points in samples.of(name, match):
            now, then = _at(points, t), _at(points, t - window)
            if now is None:
                continue
            key = extra(labels) if extra else labels.get(by, "")
            totals[key] += max(0.0, now - (then if then is not None else now)) / window
        for key, value in totals.items():
            out[key].append((t, value))
    return out


def quantile_by(
    samples: Samples, name: str, by: str, window: float, q: float = 0.95
) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in samples.times:
        buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
        for _target, labels, points in samples.of(name + "_bucket"):
            now, then = _at(points, t), _at(points, t - window)
            if now is None:
                continue
            buckets[labels.get(by, "")][float(labels["le"])] += max(0.0, now - (then if then is not None else now))
        for key, counts in buckets.items():
            value = _quantile(q, sorted(counts.items()))
            if value is not None:
                out[key].append((t, value))
    return out


def _quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus's histogram_quantile on cumulative (le, count) pairs."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank, previous_le, previous_count = q * buckets[-1][1], 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return previous_le
            return previous_le + (le - previous_le) * ((rank - previous_count) / max(count - previous_count, 1e-12))
        previous_le, previous_count = le, count
    return previous_le


def gauge_by(
    samples: Samples, name: str, by: str, match: Callable[[dict[str, str]], bool] = lambda _: True
) -> dict[str, list[tuple[float, float]]]:
    """max by (by) (name): replicas and processes report the same shared counts."""
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in samples.times:
        best: dict[str, float] = {}
        for _target, labels, points in samples.of(name, match):
            value = _at(points, t)
            if value is not None:
                key = labels.get(by, "")
                best[key] = max(best.get(key, value), value)
        for key, value in best.items():
            out[key].append((t, value))
    return out


def panel_series(samples: Samples, title: str, window: float) -> dict[str, list[tuple[float, float]]]:
    """Each panel's query (scripts/dashboard.py) evaluated on the samples."""
    ok = lambda labels: labels.get("outcome") == "success"  # noqa: E731
    if title == "Requests per second by operation":
        return rate_by(samples, "gateway_requests_total", "operation_name", window)
    if title == "p95 latency by operation":
        return quantile_by(samples, "gateway_request_duration_seconds", "operation_name", window)
    if title == "Error ratio by operation":
        errors = rate_by(samples, "gateway_requests_total", "operation_name", window, lambda lab: not ok(lab))
        totals = rate_by(samples, "gateway_requests_total", "operation_name", window)
        return {
            op: [(t, e / dict(totals[op]).get(t, math.inf)) for t, e in points if dict(totals[op]).get(t)]
            for op, points in errors.items()
        }
    if title == "Fetches per second by subgraph":
        return rate_by(samples, "gateway_subgraph_fetch_duration_seconds_count", "subgraph", window)
    if title == "p95 fetch latency by subgraph":
        return quantile_by(samples, "gateway_subgraph_fetch_duration_seconds", "subgraph", window)
    if title == "Errors per second by subgraph":
        fetch = rate_by(samples, "gateway_subgraph_fetch_errors_total", "subgraph", window)
        answered = rate_by(samples, "service_graphql_operation_errors_total", "service", window)
        return {f"{k} fetch": v for k, v in fetch.items()} | {f"{k} answered": v for k, v in answered.items()}
    if title.startswith("Saga funnel"):
        by = gauge_by(samples, "orders_by_status", "status")
        last = {status: points[-1][1] for status, points in by.items() if points}
        paid = sum(last.get(s, 0.0) for s in ("PAID", "FULFILLED", "REFUNDED"))
        return (
            {
                "placed": [(0, sum(last.values()))],
                "paid": [(0, paid)],
                "cancelled": [(0, last.get("CANCELLED", 0.0))],
                "awaiting payment": [(0, last.get("AWAITING_PAYMENT", 0.0))],
            }
            if last
            else {}
        )
    if title == "Order status changes per minute":
        by = gauge_by(samples, "orders_by_status", "status")
        return {
            s: [(t, (v - dict(points).get(_before(points, t - window), v)) * 60 / window) for t, v in points]
            for s, points in by.items()
        }
    if title == "Payment outcomes":
        by = gauge_by(
            samples,
            "payments_by_status",
            "status",
            lambda lab: lab.get("status") in {"SUCCEEDED", "FAILED", "REFUNDED", "PARTIALLY_REFUNDED"},
        )
        return {s: [(0, points[-1][1])] for s, points in by.items() if points}
    if title == "Payments in flight":
        return gauge_by(
            samples, "payments_by_status", "status", lambda lab: lab.get("status") in {"PENDING", "PROCESSING"}
        )
    if title == "Queue depth":
        return gauge_by(samples, "service_queue_depth", "queue")
    if title == "Consumer lag":
        lag = gauge_by(samples, "events_consumer_lag", "group")
        pending = gauge_by(samples, "events_consumer_pending", "group")
        return {f"{k} lag": v for k, v in lag.items()} | {f"{k} pending": v for k, v in pending.items()}
    if title == "Dead letters":
        return gauge_by(samples, "events_dead_letters", "group") | {
            "outbox": gauge_by(samples, "events_outbox_dead_letters", "").get("", [])
        }
    if title == "Targets up":
        targets = {target for (target, _, _) in samples.series}
        return {
            "processes serving dashboard metrics": [
                (
                    t,
                    float(
                        len(
                            {
                                tg
                                for (tg, _, _), pts in samples.series.items()
                                if _at(pts, t) is not None and tg in targets
                            }
                        )
                    ),
                )
                for t in samples.times
            ]
        }
    raise KeyError(f"no evaluation for panel {title!r}")


def _before(points: list[tuple[float, float]], t: float) -> float:
    earlier = [ts for ts, _ in points if ts <= t]
    return earlier[-1] if earlier else points[0][0]


def render(samples_path: Path, out: Path, window: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[Any] = [json.loads(line) for line in samples_path.read_text().splitlines() if line.strip()]
    samples = Samples(rows)
    start = samples.times[0] if samples.times else 0.0
    panels = [(row, panel) for row, row_panels in ROWS for panel in row_panels]
    columns = 3
    figure_rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(figure_rows, columns, figsize=(18, 3.1 * figure_rows), facecolor="#111217")
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (row, panel) in zip(axes.flat, panels, strict=False):
        ax.set_visible(True)
        ax.set_facecolor("#181b1f")
        ax.set_title(f"{row} · {panel.title}", color="#d8d9da", fontsize=9, loc="left")
        ax.tick_params(colors="#8e8e8e", labelsize=7)
        for spine in ax.spines.values():
            spine.set_color("#2c3235")
        series = panel_series(samples, panel.title, window)
        if not any(series.values()):
            ax.text(
                0.5,
                0.5,
                "no data: not served in this run",
                color="#8e8e8e",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=9,
            )
            continue
        if panel.kind == "bargauge":
            names = list(series)
            values = [series[n][-1][1] for n in names]
            ax.barh(names, values, color="#73bf69")
            for i, v in enumerate(values):
                ax.text(v, i, f" {v:g}", color="#d8d9da", va="center", fontsize=8)
            ax.invert_yaxis()
            continue
        for name, points in sorted(series.items()):
            if points:
                ax.plot([t - start for t, _ in points], [v for _, v in points], label=name or "all", linewidth=1.2)
        ax.set_xlabel(f"seconds into the run ({panel.unit})", color="#8e8e8e", fontsize=7)
        ax.legend(fontsize=6, loc="upper left", facecolor="#181b1f", labelcolor="#d8d9da", framealpha=0.6, ncol=2)
    fig.suptitle(
        "Supershop (rendered with matplotlib from a real run's /metrics samples, not Grafana)",
        color="#d8d9da",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, facecolor=fig.get_facecolor())
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.dashboard_render")
    sub = parser.add_subparsers(dest="command", required=True)
    capture = sub.add_parser("capture")
    capture.add_argument("--out", type=Path, default=ROOT / "var" / "dashboard" / "samples.jsonl")
    capture.add_argument("--idle", type=float, default=65.0)
    capture.add_argument("--seconds", type=float, default=60.0)
    capture.add_argument("--every", type=float, default=2.0)
    capture.add_argument("--shoppers", type=int, default=3)
    draw = sub.add_parser("render")
    draw.add_argument("samples", type=Path)
    draw.add_argument("out", type=Path)
    draw.add_argument("--window", type=float, default=10.0, help="rate window in seconds")
    args = parser.parse_args(argv)
    if args.command == "capture":
        asyncio.run(_capture(args.out, args.idle, args.seconds, args.every, args.shoppers))
    else:
        render(args.samples, args.out, args.window)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
