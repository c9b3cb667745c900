"""Install the GraphiQL explorer's browser assets from the npm registry into ``var/graphiql``.

The gateway serves these files itself (``gateway/graphiql``), so the explorer works with no
internet once this has run. Pinned versions; idempotent: when every package is already installed
at its pinned version nothing is downloaded.

    python -m scripts.install_graphiql [--dir var/graphiql] [--if-possible]

``--if-possible`` turns a missing ``npm`` into a warning (exit 0): the gateway then serves a page
that explains how to install the explorer instead of the explorer itself.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from .npm_pinned import install_pinned

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "graphiql"

# The UMD builds the explorer page loads; see gateway/graphiql/assets.py for the files used.
PINNED: Mapping[str, str] = {
    "graphiql": "3.8.3",
    "react": "18.3.1",
    "react-dom": "18.3.1",
    "graphql": "16.11.0",
    "graphql-ws": "5.16.2",
}


def install(target: Path, *, if_possible: bool = False) -> int:
    return install_pinned("graphiql", target, PINNED, if_possible=if_possible)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="install prefix (default var/graphiql)")
    parser.add_argument("--if-possible", action="store_true", help="exit 0 when npm is missing or fails")
    args = parser.parse_args(argv)
    return install(args.dir.resolve(), if_possible=args.if_possible)


if __name__ == "__main__":
    raise SystemExit(main())
