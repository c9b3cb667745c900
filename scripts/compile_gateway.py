"""Compile the gateway's hot modules (gateway.native.COMPILED) with mypyc, and build its C extensions
(gateway.native.C_EXTENSIONS), in place.

    python -m scripts.compile_gateway [--if-possible] [--force]   # make compile
    python -m scripts.compile_gateway --clean                      # make compile-clean: pure Python again

The extension modules land next to their sources (setuptools' `build_ext --inplace`), with one shared
library for the group (gateway/_native__mypyc.*.so) and the manifest of the compiled sources' digests
(gateway/_native.json) that `import gateway` checks. mypyc is the one of the pinned mypy. Idempotent:
nothing happens while the manifest matches the sources and the artefacts are there. With
--if-possible a machine without a C compiler or Python's headers, or a failed build, is told that the
gateway runs as pure Python, and setup goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import sysconfig
import time
from pathlib import Path

from gateway import native

ROOT = native.PACKAGE_DIR.parent
BUILD_DIR = ROOT / "var" / "build" / "mypyc"
EXTENSION_SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX") or ".so")


def artefacts() -> list[Path]:
    """Every file a build leaves in the source tree (whatever the Python version that built it), and
    the extension of a module compiled before but no longer listed: it would still shadow its source."""
    found = [native.MANIFEST] if native.MANIFEST.exists() else []
    found += sorted(native.PACKAGE_DIR.glob(native.GROUP.rpartition(".")[2] + "__mypyc.*.so"))
    found += sorted(path for path in native.PACKAGE_DIR.rglob("*.so")
                    if any(path.with_name(path.name.split(".")[0] + suffix).exists() for suffix in (".py", ".c")))
    return found


def expected_extensions() -> list[Path]:
    group = native.PACKAGE_DIR / (native.GROUP.rpartition(".")[2] + "__mypyc" + EXTENSION_SUFFIX)
    modules = native.COMPILED + native.C_EXTENSIONS
    return [group, *(native.source_path(m).with_suffix(EXTENSION_SUFFIX) for m in modules)]


def mypy_version() -> str:
    from mypy.version import __version__

    return __version__


def up_to_date() -> bool:
    try:
        recorded = json.loads(native.MANIFEST.read_text())
    except (OSError, ValueError):
        return False
    return (
        recorded.get("mypy") == mypy_version()
        and recorded.get("sources") == native.source_digests()
        and all(path.exists() for path in expected_extensions())
    )


def missing_toolchain() -> str | None:
    """Why no extension module can be built here, or None."""
    compiler = shlex.split(os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc"))[:1]
    if not compiler or shutil.which(compiler[0]) is None:
        return f"no C compiler ({compiler[0] if compiler else 'CC'} not found)"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists():
        return f"no Python headers ({headers} missing: install python3-dev)"
    try:
        import mypyc.build  # noqa: F401
    except ImportError:
        return "mypyc missing (it comes with the dev extra's mypy)"
    return None


# The exit code when nothing can be compiled here (no C compiler, headers or mypyc), as opposed to a
# build that failed (1): `make test` skips the compiled run on the first and fails on the second.
NO_TOOLCHAIN = 3


def clean() -> None:
    for path in artefacts():
        path.unlink()


def build() -> None:
    """mypyc's C for the whole group, compiled and copied next to the sources; then the manifest."""
    from mypyc.build import mypycify
    from setuptools import Extension, setup

    sources = [str(native.source_path(m).relative_to(ROOT)) for m in native.COMPILED]
    digests = native.source_digests()
    clean()
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    os.chdir(ROOT)  # mypyc names the modules after their paths relative to here
    try:
        extensions = mypycify(sources, opt_level="3", group_name=native.GROUP, target_dir=str(BUILD_DIR / "c"))
        extensions += [
            Extension(name, [str(native.source_path(name).relative_to(ROOT))], extra_compile_args=["-O3"])
            for name in native.C_EXTENSIONS
        ]
        setup(
            name="supershop-native",
            packages=[],
            py_modules=[],
            ext_modules=extensions,
            script_args=["-q", "build_ext", "--inplace", "--build-temp", str(BUILD_DIR / "temp")],
        )
    finally:
        os.chdir(cwd)
    missing = [str(path.relative_to(ROOT)) for path in expected_extensions() if not path.exists()]
    if missing:
        raise RuntimeError(f"the build left no {', '.join(missing)}")
    manifest = {"mypy": mypy_version(), "python": sys.version.split()[0], "sources": digests}
    native.MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.compile_gateway", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--if-possible", action="store_true",
                        help="exit 0 (pure Python) when nothing can be compiled here")
    parser.add_argument("--force", action="store_true", help="build even when up to date")
    parser.add_argument("--clean", action="store_true", help="remove the artefacts: pure Python again")
    args = parser.parse_args(argv)
    if args.clean:
        removed = artefacts()
        clean()
        print(f"compile: removed {len(removed)} artefacts; the gateway runs as pure Python")
        return 0
    if not args.force and up_to_date():
        return 0
    problem = missing_toolchain()
    no_toolchain = problem is not None
    if problem is None:
        started = time.monotonic()
        print(f"compile: {len(native.COMPILED)} gateway modules with mypyc {mypy_version()} (about a minute)",
              flush=True)
        try:
            build()
        except (Exception, SystemExit) as exc:  # setuptools exits on a compiler error
            clean()
            problem = f"the build failed ({exc})"
        else:
            print(f"compile: done in {time.monotonic() - started:.0f}s; GATEWAY_PURE_PYTHON=1 or "
                  "`make compile-clean` runs the pure-Python sources")
            return 0
    outcome = "the compiled build in place stays" if up_to_date() else "the gateway runs as pure Python"
    print(f"compile: {problem}; {outcome}", file=sys.stderr)
    if args.if_possible:
        return 0
    return NO_TOOLCHAIN if no_toolchain else 1


if __name__ == "__main__":
    raise SystemExit(main())
