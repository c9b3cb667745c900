"""The peer benchmark's fixed-rate pass: latency at the same offered load for every gateway.

wrk's closed loop measures latency at saturation, where p99 follows throughput (connections over
req/s). Here bench/openloop (our own C generator, wrk2's method: each request has an intended send
time and its latency counts from then, so a stall is never hidden) offers every gateway the same
rates, fractions of our one-worker gateway's closed-loop req/s in the same run. A gateway whose own
closed-loop req/s is below a rate is not offered it (it would only queue); a round whose achieved
rate falls short, or that had to queue requests, is marked saturated. A gateway kept up at a rate when
most of its rounds did: on a shared machine one round now and then catches a stall of the whole host.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# Per round, the figures whose median is the gateway's result at one rate
MEDIAN_FIELDS = ("achieved_rps", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "service_p99_ms",
                 "max_send_lag_ms")
KEPT_UP = 0.97  # achieved over offered, below which a round is saturated


def offered_rates(closed_loop: Mapping[str, Mapping[str, Any]], reference: str,
                  fractions: Sequence[float]) -> list[float]:
    """The fractions of ``reference``'s closed-loop req/s (else the fastest gateway's), whole req/s."""
    rates = {n: s.get("requests_per_second") for n, s in closed_loop.items()}
    base = rates.get(reference) or max((r for r in rates.values() if r), default=None)
    if not base:
        return []
    return sorted({float(max(1, round(base * f, -1 if base * f >= 100 else 0))) for f in fractions if f > 0})


def can_offer(closed_loop: Mapping[str, Any], rate: float) -> bool:
    """Whether a gateway's closed-loop req/s (at many more connections in flight) reaches ``rate``."""
    measured = closed_loop.get("requests_per_second")
    return measured is not None and float(measured) >= rate


def saturated(round_figures: Mapping[str, Any]) -> bool:
    return (round_figures["achieved_rps"] < KEPT_UP * round_figures["rate"] or round_figures["queued"] > 0
            or round_figures["errors"] > 0)


def kept_up(summary: Mapping[str, Any]) -> bool:
    return 2 * summary["saturated_rounds"] < len(summary["rounds"])


def summarize(rounds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for field in MEDIAN_FIELDS:  # a percentile is None in a round where nothing completed
        values = [r[field] for r in rounds if r.get(field) is not None]
        summary[field] = statistics.median(values) if values else None
    summary["errors"] = sum(int(r["errors"]) for r in rounds)
    summary["saturated_rounds"] = sum(1 for r in rounds if saturated(r))
    summary["rounds"] = [dict(r) for r in rounds]
    return summary


def measure(names: Sequence[str], closed_loop: Mapping[str, Mapping[str, Any]], rates: Sequence[float],
            rounds: int, run_one: Callable[[str, float], dict[str, Any]],
            rotated: Callable[[Sequence[str], int], list[str]]) -> dict[str, Any]:
    """Every gateway that can be offered a rate, ``rounds`` times per rate in rotated order."""
    out: dict[str, Any] = {"rates": list(rates), "gateways": {name: {} for name in names}, "not_offered": {}}
    for rate in rates:
        offered = [n for n in names if can_offer(closed_loop.get(n, {}), rate)]
        for name in names:
            if name not in offered:
                measured = closed_loop.get(name, {}).get("requests_per_second") or 0.0
                out["not_offered"].setdefault(name, []).append(
                    f"{rate:,.0f} req/s: its closed-loop rate is {measured:,.0f} req/s")
        results: dict[str, list[dict[str, Any]]] = {n: [] for n in offered}
        for index in range(rounds):
            for name in rotated(offered, index):
                figures = {"round": index + 1, **run_one(name, rate)}
                results[name].append(figures)
                print(f"    {rate:>8,.0f} req/s round {index + 1}/{rounds} {name:<22} "
                      f"p50 {_ms(figures['p50_ms'])} p99 {_ms(figures['p99_ms'])} p99.9 {_ms(figures['p999_ms'])} ms, "
                      f"{figures['errors']} errors{'  (saturated)' if saturated(figures) else ''}", flush=True)
        for name, figures_list in results.items():
            out["gateways"][name][str(rate)] = summarize(figures_list)
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def lowest_p99(outcome: Mapping[str, Any]) -> dict[str, str | None]:
    """Per rate, the gateway with the lowest median p99 among those that kept up."""
    best: dict[str, str | None] = {}
    for rate in outcome["rates"]:
        key = str(rate)
        kept = {n: r[key]["p99_ms"] for n, r in outcome["gateways"].items()
                if key in r and kept_up(r[key]) and r[key]["p99_ms"] is not None}
        best[key] = min(kept, key=lambda n: kept[n]) if kept else None
    return best


def table(outcome: Mapping[str, Any]) -> str:
    """A row per gateway, a column per rate: p50 / p99 / p99.9 ms, and `sat. k/n` when k of its n rounds
    did not keep up."""
    rates = outcome["rates"]
    header = f"{'gateway':<24}" + "".join(f"{f'{r:,.0f} req/s: p50 / p99 / p99.9 ms':>38}" for r in rates)
    rows = [header, "-" * len(header)]
    for name, by_rate in outcome["gateways"].items():
        cells = []
        for rate in rates:
            s = by_rate.get(str(rate))
            if s is None:
                cells.append(f"{'not offered':>38}")
                continue
            mark = f" sat. {s['saturated_rounds']}/{len(s['rounds'])}" if s["saturated_rounds"] else ""
            figures = " / ".join(_ms(s[f]) for f in ("p50_ms", "p99_ms", "p999_ms"))
            cells.append(f"{figures}{mark}".rjust(38))
        rows.append(f"{name:<24}" + "".join(cells))
    best = lowest_p99(outcome)
    rows.append("lowest p99 (kept up): " + ", ".join(f"{float(r):,.0f} req/s {n or '-'}" for r, n in best.items()))
    return "\n".join(rows)
