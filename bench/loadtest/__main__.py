"""`make loadtest`: the order-spike load test, headless; writes var/loadtest/<timestamp>/report.md.

Shorten it with flags or LOADTEST_* variables, e.g. `LOADTEST_SPIKE=20 LOADTEST_BEFORE=10 make loadtest`.
Exits non-zero, with the violation named at the top of the report, when an invariant broke.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from bench.loadtest.harness import ROOT, run_loadtest
from bench.loadtest.report import failures, write_report
from bench.loadtest.settings import LoadSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--base-rps", type=float, help="requests/s at the base rate (default 20)")
    parser.add_argument("--multiplier", type=float, help="checkout rate in the spike / base (default 10)")
    parser.add_argument("--before", type=float, help="seconds at the base rate before the spike (default 30)")
    parser.add_argument("--spike", type=float, help="seconds of the spike (default 60)")
    parser.add_argument("--after", type=float, help="seconds at the base rate after it (default 30)")
    parser.add_argument("--hold-seconds", type=float, help="the orders' stock hold (default 30)")
    parser.add_argument("--out", type=Path, help="the run's folder (default var/loadtest/<timestamp>)")
    args = parser.parse_args(argv)
    try:
        settings = LoadSettings.from_env(base_rps=args.base_rps, multiplier=args.multiplier, before=args.before,
                                         spike=args.spike, after=args.after, hold_seconds=args.hold_seconds)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    out = args.out or ROOT / "var" / "loadtest" / time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    try:
        result = asyncio.run(run_loadtest(settings, out))
    except RuntimeError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    report, code = write_report(result)
    for reason in failures(result):
        print(f"LOADTEST FAILED: {reason}", file=sys.stderr)
    print(f"loadtest: {'FAILED' if code else 'passed'}; report: {report}")
    return code


if __name__ == "__main__":
    sys.exit(main())
