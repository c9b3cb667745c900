"""Install a pinned set of npm packages into a prefix outside the Python package.

Shared by the setup scripts that fetch tools from the npm registry (the GraphiQL explorer's assets,
the reference federation tools). Idempotent: when every package is installed at its pinned version,
nothing is downloaded. Without ``npm`` (or when it fails) ``if_possible`` turns the failure into a
warning, so setup goes on and whatever needs the packages explains why it is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def installed_version(target: Path, package: str) -> str | None:
    manifest = target / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8")).get("version"))
    except (OSError, ValueError):
        return None


def missing_packages(target: Path, pinned: Mapping[str, str]) -> dict[str, str]:
    """The packages that are absent or at another version than the pinned one."""
    return {name: version for name, version in pinned.items() if installed_version(target, name) != version}


def npm_command(target: Path, pinned: Mapping[str, str]) -> list[str]:
    specs = [f"{name}@{version}" for name, version in pinned.items()]
    return [
        "npm", "install", "--prefix", str(target), "--no-audit", "--no-fund", "--save-exact",
        "--loglevel=error", *specs,
    ]


def install_pinned(label: str, target: Path, pinned: Mapping[str, str], *, if_possible: bool = False) -> int:
    """Install ``pinned`` into ``target``; the exit code a setup script returns."""
    todo = missing_packages(target, pinned)
    if not todo:
        print(f"{label}: up to date in {target}")
        return 0
    if shutil.which("npm") is None:
        print(f"{label}: npm not found; {', '.join(todo)} stay uninstalled (install Node.js + npm, then rerun)",
              file=sys.stderr)
        return 0 if if_possible else 1
    target.mkdir(parents=True, exist_ok=True)
    # The whole pinned set at once, so npm resolves one consistent tree.
    command = npm_command(target, pinned)
    print(f"{label}: " + " ".join(command))
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        print(f"{label}: npm install failed with exit code {result.returncode}", file=sys.stderr)
        return 0 if if_possible else result.returncode
    still = missing_packages(target, pinned)
    if still:
        print(f"{label}: versions differ after install: {still}", file=sys.stderr)
        return 0 if if_possible else 1
    return 0
