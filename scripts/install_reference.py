"""Install the reference federation tools from the npm registry into ``var/reference``.

The conformance and composition suites compare our composer and gateway with them:
``@apollo/composition`` (the reference composer), ``@apollo/gateway`` served by ``@apollo/server``
(the reference gateway), and the Grafbase CLI (a Rust gateway that composes subgraph SDL files
offline with ``grafbase dev``). Pinned versions, outside the Python package, never committed.

    python -m scripts.install_reference [--dir var/reference] [--if-possible]

Without npm the tests that need these tools are skipped with the reason.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from .npm_pinned import install_pinned

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "reference"

PINNED: Mapping[str, str] = {
    "@apollo/composition": "2.14.4",
    "@apollo/gateway": "2.14.4",
    "@apollo/server": "5.5.1",
    "graphql": "16.11.0",
    "@grafbase/cli-x86_64-unknown-linux-musl": "0.103.0",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="install prefix (default var/reference)")
    parser.add_argument("--if-possible", action="store_true", help="exit 0 when npm is missing or fails")
    args = parser.parse_args(argv)
    return install_pinned("reference tools", args.dir.resolve(), PINNED, if_possible=args.if_possible)


if __name__ == "__main__":
    raise SystemExit(main())
