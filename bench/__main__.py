"""`make bench`: run every benchmark under bench/ (each `bench/<name>/run.py` has a `main()`).

`python -m bench gateway products` runs only those; options after one benchmark's name go to it
(`python -m bench peers --duration 2 --rounds 1`).
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
    options_at = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:options_at] or available(), argv[options_at:]
    if options and len(names) != 1:
        print("options need exactly one benchmark: python -m bench NAME [OPTIONS]", file=sys.stderr)
        return 2
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
        if options and not takes_argv:
            print(f"bench {name} takes no options", file=sys.stderr)
            return 2
        result = module.main(options) if takes_argv else module.main()
        if isinstance(result, int) and result != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
