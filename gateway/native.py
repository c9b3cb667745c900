"""Compiled or pure-Python hot modules: which ones are loaded, and the switch between them.

`make compile` (scripts/compile_gateway.py) builds the modules in `COMPILED` with mypyc into
extension modules next to their sources: Python's import system prefers the `.so` over the `.py`.
It also builds `C_EXTENSIONS`, written here in C, which their pure-Python callers import only when
`SELECTED` is "compiled". The build also writes `MANIFEST`, the SHA-256 of every source it
compiled. At `import gateway`, `select()` loads the pure-Python sources instead when
`GATEWAY_PURE_PYTHON=1`, when there is no manifest, or when a source changed since the build (a
stale `.so` must never shadow an edited `.py`). Deleting the artefacts (`make compile-clean`) also
gives pure Python: that is the default.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PURE_ENV = "GATEWAY_PURE_PYTHON"
GROUP = "gateway._native"  # mypyc's shared library: gateway/_native__mypyc.*.so
PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = PACKAGE_DIR / "_native.json"

# Not compiled: execution/incremental.py (async generators, which mypyc lacks), and the real-time
# endpoints (a test subclasses `Realtime`); the middleware in front of every request is.
# The request path's pure computation: planning (cached per operation, but cold operations and
# @defer/@skip variants plan at request time), plan execution, merging and response shaping.
COMPILED: tuple[str, ...] = (
    "gateway.access_log",
    "gateway.cache.local",
    "gateway.cache.request_cache",
    "gateway.cors",
    "gateway.http1.connection",
    "gateway.http1.exchange",
    "gateway.http1.head",
    "gateway.metrics",
    "gateway.request",
    "gateway.runtime",
    "gateway.subscriptions.mount",
    "gateway.server",
    "gateway.execution.context",
    "gateway.execution.dedup",
    "gateway.execution.executor",
    "gateway.execution.http",
    "gateway.execution.inputs",
    "gateway.execution.merge",
    "gateway.execution.representations",
    "gateway.execution.schedule",
    "gateway.execution.selections",
    "gateway.execution.transport",
    "gateway.execution.shaping",
    "gateway.execution.unalias",
    "gateway.execution.value_completion",
    "gateway.planning.aliasing",
    "gateway.planning.collapse",
    "gateway.planning.context",
    "gateway.planning.deferred",
    "gateway.planning.incremental",
    "gateway.planning.nodes",
    "gateway.planning.operation",
    "gateway.planning.planner",
    "gateway.planning.prepare",
    "gateway.planning.schema_view",
    "gateway.planning.selection",
    "gateway.planning.shape",
    "gateway.planning.value_split",
)

# Extension modules written in C, each from the `.c` of its name; each has a pure-Python fallback.
C_EXTENSIONS: tuple[str, ...] = (
    "gateway.execution._merge", "gateway.execution._representations", "gateway.execution._response_writer",
)


def source_path(module: str) -> Path:
    suffix = ".c" if module in C_EXTENSIONS else ".py"
    return PACKAGE_DIR.parent.joinpath(*module.split(".")).with_suffix(suffix)


def source_digests(modules: Sequence[str] = COMPILED + C_EXTENSIONS) -> dict[str, str]:
    return {name: hashlib.sha256(source_path(name).read_bytes()).hexdigest() for name in modules}


def built_digests() -> dict[str, str] | None:
    """The digests the last build recorded, or None without a (readable) manifest."""
    try:
        recorded = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        return None
    sources = recorded.get("sources") if isinstance(recorded, dict) else None
    return sources if isinstance(sources, dict) else None


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the `.py` of a compiled module before the path finder offers its `.so`."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED:
            return None
        source = source_path(fullname)
        return importlib.util.spec_from_file_location(fullname, source) if source.is_file() else None


def _out_of_date(built: dict[str, str]) -> str | None:
    """Why the build no longer matches the sources it recorded, or None when it does."""
    try:
        if built == source_digests():
            return None
    except OSError as exc:  # an installed copy without a source the build recorded
        return f"a compiled module's source is unreadable ({exc.strerror}: {exc.filename})"
    return "compiled modules are stale (sources changed since make compile)"


def select() -> str:
    """Decide, before any compiled module is imported, which build `import` loads: the reason for
    pure Python, or "compiled"."""
    reason: str | None
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        reason = f"{PURE_ENV} is set"
    elif (built := built_digests()) is None:
        reason = "not compiled (make compile)"
    elif (reason := _out_of_date(built)) is None:
        return "compiled"
    else:
        warnings.warn(f"gateway: {reason}; loading the pure-Python sources", RuntimeWarning, stacklevel=2)
    if not any(isinstance(finder, _SourceFirst) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst())
    return f"pure Python: {reason}"


def loaded_mode() -> str:
    """"compiled", "pure" or "mixed", from how the hot modules imported so far were loaded."""
    kinds = {
        isinstance(getattr(module.__spec__, "loader", None), importlib.machinery.ExtensionFileLoader)
        for name in COMPILED
        if (module := sys.modules.get(name)) is not None
    }
    if kinds == {True}:
        return "compiled"
    return "mixed" if len(kinds) > 1 else "pure"


SELECTED = select()


def load_c_extension(module: str, instead: str) -> ModuleType | None:
    """The C extension `module` (one of C_EXTENSIONS) with the compiled build, else None. A compiled
    build without it warns, saying what runs `instead`, and goes on in Python."""
    if SELECTED != "compiled":
        return None
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        warnings.warn(f"gateway: no {module} ({exc}); {instead}", RuntimeWarning, stacklevel=2)
        return None
