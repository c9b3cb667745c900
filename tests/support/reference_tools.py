"""Where the reference federation tools are, or why they cannot run.

``make setup`` installs them from the npm registry (``scripts/install_reference.py``) into
``var/reference``; ``REFERENCE_TOOLS_DIR`` points elsewhere, and ``REFERENCE_TOOLS=0`` turns the
comparisons off. Each ``*_unavailable`` function answers None when the tool can run, else the reason
a test is skipped with.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from scripts.install_reference import DEFAULT_DIR, PINNED

GRAFBASE_PACKAGE = "@grafbase/cli-x86_64-unknown-linux-musl"


def tools_dir() -> Path:
    return Path(os.environ.get("REFERENCE_TOOLS_DIR") or DEFAULT_DIR)


def node_modules() -> Path:
    return tools_dir() / "node_modules"


def _package_unavailable(package: str, *, needs_node: bool = True) -> str | None:
    if os.environ.get("REFERENCE_TOOLS") == "0":
        return "REFERENCE_TOOLS=0"
    if needs_node and shutil.which("node") is None:
        return "node is not installed"
    if not (node_modules() / package / "package.json").is_file():
        return (f"{package}@{PINNED[package]} is not installed under {tools_dir()} "
                "(needs npm; run `python -m scripts.install_reference`)")
    return None


def composer_unavailable() -> str | None:
    """The reference composer, @apollo/composition."""
    return _package_unavailable("@apollo/composition")


def apollo_gateway_unavailable() -> str | None:
    """The reference gateway, @apollo/gateway served by @apollo/server."""
    return _package_unavailable("@apollo/gateway") or _package_unavailable("@apollo/server")


def query_planner_unavailable() -> str | None:
    """The reference query planner, @apollo/query-planner (installed with @apollo/gateway)."""
    return _package_unavailable("@apollo/query-planner")


def grafbase_binary() -> Path:
    return node_modules() / GRAFBASE_PACKAGE / "grafbase"


def grafbase_unavailable() -> str | None:
    """The Grafbase CLI, a Rust gateway (``grafbase dev`` composes subgraph SDL files offline)."""
    reason = _package_unavailable(GRAFBASE_PACKAGE, needs_node=False)
    if reason is None and not os.access(grafbase_binary(), os.X_OK):
        return f"{grafbase_binary()} is not executable"
    return reason
