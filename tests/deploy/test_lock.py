"""requirements.lock (runtime, installed by the Dockerfile), requirements-dev.lock (runtime + dev) and
requirements-compile.lock (runtime + compile, the image's mypyc build) pin every dependency
pyproject.toml declares, at a version its specifier allows, with hashes.
After changing pyproject's dependencies: `make lock`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def _pyproject() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return {"runtime": project["dependencies"], "dev": extras["dev"], "compile": extras["compile"]}


def _entries(path: Path) -> list[str]:
    """The lock's requirement entries, continuation lines joined."""
    text = path.read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _pins(path: Path) -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for entry in _entries(path):
        match = _PIN.match(entry)
        assert match, f"{path.name}: not an exact pin: {entry[:120]}"
        pins.setdefault(canonicalize_name(match.group(1)), set()).add(match.group(2))
    return pins


@pytest.mark.parametrize(("lock", "groups"), [("requirements.lock", ("runtime",)),
                                              ("requirements-dev.lock", ("runtime", "dev")),
                                              ("requirements-compile.lock", ("runtime", "compile"))])
def test_the_lock_covers_pyproject(lock: str, groups: tuple[str, ...]) -> None:
    path = ROOT / lock
    assert path.is_file(), f"{lock} is missing: run `make lock`"
    pins = _pins(path)
    declared = _pyproject()
    problems = []
    for group in groups:
        for spec in declared[group]:
            requirement = Requirement(spec)
            if requirement.marker is not None and not requirement.marker.evaluate(dict(default_environment())):
                continue
            versions = pins.get(canonicalize_name(requirement.name))
            if not versions:
                problems.append(f"{requirement.name} is not in {lock}")
            elif not any(requirement.specifier.contains(v, prereleases=True) for v in versions):
                problems.append(f"{requirement.name}: {lock} pins {sorted(versions)}, pyproject wants {spec}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock", "requirements-compile.lock"])
def test_every_pin_has_hashes(lock: str) -> None:
    for entry in _entries(ROOT / lock):
        assert "--hash=sha256:" in entry, f"{lock}: no hash for {entry[:80]}"


def test_the_runtime_lock_holds_no_test_tool() -> None:
    """The image installs requirements.lock: the test and lint tools stay out of it."""
    pins = _pins(ROOT / "requirements.lock")
    assert not {"pytest", "ruff", "mypy", "playwright", "uv"} & set(pins)


def test_the_compile_lock_pins_the_runtime_as_the_runtime_lock_does() -> None:
    """The image compiles against the very versions it runs (mypy follows the gateway's imports)."""
    runtime, compile_ = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-compile.lock")
    assert {name: compile_.get(name) for name in runtime} == runtime
    assert "mypy" in compile_
