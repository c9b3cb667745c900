"""Compiled (mypyc) or pure-Python hot modules (gateway.native): the run loads the build it should,
GATEWAY_PURE_PYTHON and a stale build give the sources, an up-to-date manifest the compiled build."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import gateway
from gateway import native

ROOT = Path(__file__).resolve().parents[3]


def test_this_run_loads_the_expected_build() -> None:
    for name in native.COMPILED:
        importlib.import_module(name)
    mode = native.loaded_mode()
    print(f"gateway hot modules: {mode} ({gateway.NATIVE_SELECTED})")
    if os.environ.get("GATEWAY_EXPECT_COMPILED") == "1":  # make test-compiled
        assert mode == "compiled", gateway.NATIVE_SELECTED
    else:
        assert mode == ("compiled" if gateway.NATIVE_SELECTED == "compiled" else "pure")


def test_the_switch_loads_every_hot_module_from_its_source() -> None:
    code = (
        "import importlib, gateway.native as n\n"
        "mods = [importlib.import_module(m) for m in n.COMPILED]\n"
        "print(n.loaded_mode(), all(m.__file__.endswith('.py') for m in mods))"
    )
    env = {**os.environ, native.PURE_ENV: "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pure", "True"], out.stderr


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """select() against a manifest in tmp_path, its import hook on a copy of sys.meta_path."""
    manifest = tmp_path / "_native.json"
    monkeypatch.setattr(native, "MANIFEST", manifest)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delenv(native.PURE_ENV, raising=False)
    return manifest


def _hooked() -> bool:
    return any(isinstance(finder, native._SourceFirst) for finder in sys.meta_path)


def test_a_manifest_matching_the_sources_selects_the_compiled_build(isolated: Path) -> None:
    isolated.write_text(json.dumps({"sources": native.source_digests()}))
    hooked_before = _hooked()  # a pure-Python run has its hook already
    assert native.select() == "compiled"
    assert _hooked() == hooked_before


def test_a_source_changed_since_the_build_gives_the_sources(isolated: Path) -> None:
    digests = native.source_digests()
    digests["gateway.execution.shaping"] = "0" * 64
    isolated.write_text(json.dumps({"sources": digests}))
    with pytest.warns(RuntimeWarning, match="stale"):
        assert native.select().startswith("pure Python: compiled modules are stale")
    assert _hooked()
    finder = next(f for f in sys.meta_path if isinstance(f, native._SourceFirst))
    spec = finder.find_spec("gateway.execution.shaping", None)
    assert spec is not None and spec.origin == str(native.source_path("gateway.execution.shaping"))
    assert finder.find_spec("gateway.config", None) is None  # never compiled: the path finder's business


def test_a_source_missing_from_the_install_gives_the_sources(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    isolated.write_text(json.dumps({"sources": native.source_digests()}))
    real = native.source_path
    gone = tmp_path / "_response_writer.c"  # never created: a wheel that left the C source out
    monkeypatch.setattr(native, "source_path", lambda m: gone if m in native.C_EXTENSIONS else real(m))
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert native.select().startswith("pure Python: a compiled module's source is unreadable")
    assert _hooked()


def test_no_manifest_or_the_switch_gives_the_sources(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert native.select() == "pure Python: not compiled (make compile)"
    isolated.write_text(json.dumps({"sources": native.source_digests()}))
    monkeypatch.setenv(native.PURE_ENV, "1")
    assert native.select() == f"pure Python: {native.PURE_ENV} is set"
    assert _hooked()
