"""`python -m tests.chaos --seed N --orders 1000`: the long chaos run (`make chaos` runs several seeds).

Prints each seed's plan, then the table; for a seed with violations, what they are and the one
command that runs that seed again. Exits non-zero when any seed found a violation.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from tests.chaos.harness import RunResult, Timing, run_chaos
from tests.chaos.plan import FAULT_KINDS
from tests.chaos.report import details, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, action="append", help="a seed (repeat for several); default 1")
    parser.add_argument("--seeds", type=int, default=0, help="run seeds 1..N instead")
    parser.add_argument("--orders", type=int, default=1000, help="orders per seed (default 1000)")
    parser.add_argument("--customers", type=int, default=8, help="concurrent customers (default 8)")
    parser.add_argument("--skip", action="append", default=[], choices=FAULT_KINDS,
                        help="leave a kind of fault out of the plan (repeatable), to tell which one a violation needs")
    parser.add_argument("--log-dir", type=Path, help="keep the processes' logs here (one folder per seed)")
    parser.add_argument("--verbose", action="store_true", help="log the harness's own progress")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    seeds = list(range(1, args.seeds + 1)) if args.seeds else (args.seed or [1])
    results: list[RunResult] = []
    for seed in seeds:
        log_dir = args.log_dir / f"seed-{seed}" if args.log_dir else None
        result = asyncio.run(run_chaos(seed, args.orders, args.customers, skip=frozenset(args.skip),
                                         timing=Timing(), log_dir=log_dir))
        results.append(result)
        print(details(result), flush=True)
    print()
    print(table(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
