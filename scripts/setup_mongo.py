"""Set up `.venv-mongo`: a Python >= 3.13 environment with mongoeco, the embedded MongoDB
wire-protocol server that `make dev` and `make test` use when no MONGODB_URL is given.

It looks for the interpreter in MONGO_SERVER_BASE_PYTHON, then on PATH (python3.13 ... python3.19,
python3), then under pyenv's versions, and says what it found. Idempotent: nothing happens when the
pinned versions are already installed. With --if-possible a machine with no such Python is told
that the services fall back to the in-memory fake, and setup goes on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".venv-mongo"
PACKAGES = ("mongoeco==4.11.0", "pymongo==4.20.0")
STAMP = TARGET / ".installed"
MINIMUM = (3, 13)


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=20, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return (int(out[0]), int(out[1])) if len(out) == 2 else None


def _pyenv_versions() -> list[Path]:
    roots = [Path(os.environ["PYENV_ROOT"])] if os.environ.get("PYENV_ROOT") else []
    roots.append(Path.home() / ".pyenv")
    found = []
    for root in roots:
        found += sorted((root / "versions").glob("3.*/bin/python3"), reverse=True)
    return found


def candidates() -> list[str]:
    names = [os.environ["MONGO_SERVER_BASE_PYTHON"]] if os.environ.get("MONGO_SERVER_BASE_PYTHON") else []
    names += [path for minor in range(19, 12, -1) if (path := shutil.which(f"python3.{minor}"))]
    names += [path for path in (shutil.which("python3"),) if path]
    names += [str(path) for path in _pyenv_versions()]
    return names


def find_interpreter() -> tuple[str, tuple[int, int]] | None:
    for python in candidates():
        version = _version(python)
        if version is not None and version >= MINIMUM:
            return python, version
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.setup_mongo")
    parser.add_argument("--if-possible", action="store_true", help="exit 0 when no Python >= 3.13 exists")
    args = parser.parse_args(argv)
    wanted = "\n".join(PACKAGES)
    if STAMP.exists() and STAMP.read_text() == wanted and (TARGET / "bin" / "python").exists():
        return 0
    found = find_interpreter()
    if found is None:
        print("mongo: no Python >= 3.13 found (PATH, pyenv); without MONGODB_URL the services run on the "
              "in-memory fake (mongomock-motor)", file=sys.stderr)
        return 0 if args.if_possible else 1
    python, version = found
    print(f"mongo: embedded wire-protocol server (mongoeco) on Python {version[0]}.{version[1]} at {python}")
    if TARGET.exists():
        shutil.rmtree(TARGET)
    subprocess.run([python, "-m", "venv", str(TARGET)], check=True)
    pip = [str(TARGET / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    try:
        subprocess.run([*pip, *PACKAGES], check=True)
    except subprocess.CalledProcessError:
        shutil.rmtree(TARGET, ignore_errors=True)
        print("mongo: installing mongoeco failed; the services fall back to the in-memory fake", file=sys.stderr)
        return 0 if args.if_possible else 1
    STAMP.write_text(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
