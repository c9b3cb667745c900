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
import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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


def installed_version(target: Path, package: str) -> str | None:
    manifest = target / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8")).get("version"))
    except (OSError, ValueError):
        return None


def missing_packages(target: Path, pinned: Mapping[str, str] = PINNED) -> dict[str, str]:
    """The packages that are absent or at another version than the pinned one."""
    return {name: version for name, version in pinned.items() if installed_version(target, name) != version}


def npm_command(target: Path, pinned: Mapping[str, str]) -> list[str]:
    specs = [f"{name}@{version}" for name, version in pinned.items()]
    return [
        "npm", "install", "--prefix", str(target), "--no-audit", "--no-fund", "--save-exact",
        "--loglevel=error", *specs,
    ]


def install(target: Path, *, if_possible: bool = False) -> int:
    todo = missing_packages(target)
    if not todo:
        print(f"graphiql: up to date in {target}")
        return 0
    if shutil.which("npm") is None:
        message = "graphiql: npm not found; the explorer stays uninstalled (install Node.js + npm, then rerun)"
        print(message, file=sys.stderr)
        return 0 if if_possible else 1
    target.mkdir(parents=True, exist_ok=True)
    # Install the whole pinned set at once so npm resolves one consistent tree.
    command = npm_command(target, PINNED)
    print("graphiql: " + " ".join(command))
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        print(f"graphiql: npm install failed with exit code {result.returncode}", file=sys.stderr)
        return 0 if if_possible else result.returncode
    still = missing_packages(target)
    if still:
        print(f"graphiql: versions differ after install: {still}", file=sys.stderr)
        return 0 if if_possible else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="install prefix (default var/graphiql)")
    parser.add_argument("--if-possible", action="store_true", help="exit 0 when npm is missing or fails")
    args = parser.parse_args(argv)
    return install(args.dir.resolve(), if_possible=args.if_possible)


if __name__ == "__main__":
    raise SystemExit(main())
