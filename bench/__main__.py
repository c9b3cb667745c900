"""`make bench`: run every benchmark under bench/ (each `bench/<name>/run.py` has a `main()`).

`python -m bench gateway products` runs only those.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.parent.name for p in BENCH_DIR.glob("*/run.py"))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    failed: list[str] = []
    for name in names:
        print(f"\n=== bench: {name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}.run")
        # A benchmark with options runs on its defaults here; run its module directly to set them.
        takes_argv = "argv" in inspect.signature(module.main).parameters
        result = module.main([]) if takes_argv else module.main()
        if isinstance(result, int) and result != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
