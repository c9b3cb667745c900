"""The table a chaos run prints: per seed, orders, faults injected by kind, violations per invariant."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from tests.chaos.harness import RunResult, repro_command
from tests.support.invariants import INVARIANTS, Violation, count_by_invariant

MAX_LISTED_PER_RULE = 5


def table(results: Sequence[RunResult]) -> str:
    kinds = sorted({kind for result in results for kind in result.faults_injected()})
    header = ["seed", "orders", "placed", *kinds, *INVARIANTS, "violations", "rested", "time"]
    rows = []
    for result in results:
        injected = result.faults_injected()
        counts = count_by_invariant(result.violations)
        rows.append([
            str(result.plan.seed), str(result.plan.orders), str(result.workload.placed),
            *(str(injected.get(kind, 0)) for kind in kinds),
            *(str(counts[name]) for name in INVARIANTS), str(len(result.violations)),
            f"{result.settle_seconds:.0f}s" if result.settled else "NO",
            f"{result.seconds:.0f}s",
        ])
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *(line(row) for row in rows)])


def details(result: RunResult) -> str:
    """What a run found, grouped by rule, and how to run it again."""
    lines = [f"seed {result.plan.seed}: {len(result.violations)} violation(s); "
             f"{result.emails} emails received ({result.duplicate_emails} duplicate deliveries, at-least-once SMTP)"]
    if result.workload.not_placed:
        lines.append(f"  not placed: {dict(result.workload.not_placed)}")
    if result.workload.surprises:
        lines.append(f"  client surprises: {result.workload.surprises[:10]}")
    if result.client_anomalies:
        lines.append(f"  answers the services promise never to give: {anomalies(result.client_anomalies)}")
    if result.faults.errors:
        lines.append(f"  faults not injected: {result.faults.errors}")
    by_rule: dict[str, list[Violation]] = defaultdict(list)
    for violation in result.violations:
        by_rule[f"{violation.invariant} {violation.rule}"].append(violation)
    for rule, found in sorted(by_rule.items()):
        lines.append(f"  {rule}: {len(found)}")
        lines.extend(f"    {v}" for v in found[:MAX_LISTED_PER_RULE])
        if len(found) > MAX_LISTED_PER_RULE:
            lines.append(f"    ... and {len(found) - MAX_LISTED_PER_RULE} more")
    if not result.ok:
        lines.append(f"  logs: {result.log_dir}")
        lines.append(f"  reproduce: {repro_command(result.plan)}")
    return "\n".join(lines)


def anomalies(counter: Counter[str]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in counter.most_common(10)) or "none"
