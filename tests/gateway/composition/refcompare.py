"""Development check (not part of the test suite): compare our output with @apollo/composition.

    cd /tmp/refcompose && npm install @apollo/composition graphql   # once, outside the repo
    .venv/bin/python -m tests.gateway.composition.refcompare [--dir /tmp/refcompose] [fixture ...]

Prints, per fixture set, whether both composers agree (identical SDL, or the same error codes).
Exits quietly with a notice when node or the npm package is missing.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gateway.composition import CompositionError, SubgraphSource, compose

from .fixtures import ERROR_FIXTURES, FIXTURES

_NODE_SCRIPT = """
const fs = require('fs');
const { composeServices } = require('@apollo/composition');
const { parse } = require('graphql');
const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const result = composeServices(input.map(s => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
if (result.errors) {
  const errors = result.errors.map(e => ({ code: e.extensions && e.extensions.code, message: e.message }));
  console.log(JSON.stringify({ errors }));
} else {
  console.log(JSON.stringify({ supergraph: result.supergraphSdl }));
}
"""


def reference(workdir: Path, subgraphs: list[SubgraphSource]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "input.json"
        data.write_text(json.dumps([{"name": s.name, "url": s.url, "sdl": s.sdl} for s in subgraphs]))
        script = workdir / "_refcompare.js"
        script.write_text(_NODE_SCRIPT)
        out = subprocess.run(
            ["node", str(script), str(data)], cwd=workdir, capture_output=True, text=True, check=True, timeout=120
        )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def ours(subgraphs: list[SubgraphSource]) -> dict[str, object]:
    try:
        return {"supergraph": compose(subgraphs)}
    except CompositionError as exc:
        return {"errors": [{"code": i.code, "message": i.message} for i in exc.issues]}


def without_spec_blocks(sdl: str) -> str:
    """Drop the schema header and the join/link definitions, which depend on the join spec version."""
    blocks = sdl.strip().split("\n\n")
    kept = [
        b
        for b in blocks
        if (
            not b.startswith(("schema", "directive @join__", "directive @link"))
            and not any(
                b.startswith(f"{kw} join__") or b.startswith(f"{kw} link__") for kw in ("scalar", "enum", "input")
            )
        )
        or b.startswith("enum join__Graph")
    ]
    return "\n\n".join(kept)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="/tmp/refcompose", help="folder with node_modules/@apollo/composition")
    parser.add_argument("names", nargs="*", help="fixture names (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print diffs and messages")
    args = parser.parse_args()
    workdir = Path(args.dir)
    if shutil.which("node") is None or not (workdir / "node_modules/@apollo/composition").is_dir():
        print(f"skipped: node or {workdir}/node_modules/@apollo/composition is missing")
        return 0
    everything = {**FIXTURES, **ERROR_FIXTURES}
    for name in args.names or everything:
        ref, mine = reference(workdir, everything[name]), ours(everything[name])
        if "supergraph" in ref and "supergraph" in mine:
            a, b = str(ref["supergraph"]).strip(), str(mine["supergraph"]).strip()
            if a == b:
                verdict = "identical"
            elif without_spec_blocks(a) == without_spec_blocks(b):
                verdict = "identical apart from the join spec version / spec directive names"
            else:
                verdict = "DIFFERENT"
            print(f"{name}: {verdict}")
            if a != b and args.verbose:
                sys.stdout.writelines(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "apollo", "ours"))
                print()
        else:
            ref_codes = sorted({e["code"] for e in ref.get("errors", [])})  # type: ignore[attr-defined]
            my_codes = sorted({e["code"] for e in mine.get("errors", [])})  # type: ignore[attr-defined]
            verdict = "same errors" if ref_codes == my_codes else "DIFFERENT"
            print(f"{name}: {verdict}: apollo={ref_codes or 'ok'} ours={my_codes or 'ok'}")
            if args.verbose:
                for label, res in (("apollo", ref), ("ours", mine)):
                    for e in res.get("errors", []):  # type: ignore[attr-defined]
                        print(f"  {label}: [{e['code']}] {e['message']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
