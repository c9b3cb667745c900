"""Development check (not part of the test suite): compare our output with @apollo/composition.

    .venv/bin/python -m tests.gateway.composition.refcompare [-v] [fixture ...]

Uses the reference composer that `make setup` installs (tests/support/reference_tools.py;
REFERENCE_TOOLS_DIR points elsewhere). Prints, per fixture set, whether both composers agree: identical
SDL, the same join directives (what test_reference_parity.py checks), or the same error codes; -v
prints the SDL diffs and error messages. Exits quietly with the reason when the composer is missing.
"""

from __future__ import annotations

import argparse
import difflib
import sys

from gateway.composition import CompositionError, SubgraphSource, compose
from tests.support.reference_composer import compose_with_reference
from tests.support.reference_tools import composer_unavailable

from .all_fixtures import ERROR_SETS, SUPERGRAPH_SETS
from .join_structure import differences, join_structure


def _ours(subgraphs: list[SubgraphSource]) -> tuple[str | None, list[tuple[str, str]]]:
    try:
        return compose(subgraphs), []
    except CompositionError as exc:
        return None, [(i.code, i.message) for i in exc.issues]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="fixture names (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print diffs and messages")
    args = parser.parse_args()
    reason = composer_unavailable()
    if reason:
        print(f"skipped: {reason}")
        return 0
    everything = {**SUPERGRAPH_SETS, **ERROR_SETS}
    names = args.names or list(everything)
    reference = compose_with_reference({name: everything[name] for name in names})
    for name in names:
        ref, (mine, my_errors) = reference[name], _ours(everything[name])
        if ref.supergraph is not None and mine is not None:
            a, b = ref.supergraph.strip(), mine.strip()
            structural = differences(join_structure(a), join_structure(b))
            verdict = "identical" if a == b else "same join directives" if not structural else "DIFFERENT"
            print(f"{name}: {verdict}")
            if args.verbose:
                print("\n".join(structural))
                if a != b:
                    sys.stdout.writelines(
                        difflib.unified_diff(a.splitlines(True), b.splitlines(True), "apollo", "ours")
                    )
                    print()
        else:
            my_codes = sorted({code for code, _ in my_errors})
            verdict = "same errors" if ref.codes == my_codes else "DIFFERENT"
            print(f"{name}: {verdict}: apollo={ref.codes or 'ok'} ours={my_codes or 'ok'}")
            if args.verbose:
                for label, errors in (("apollo", ref.errors), ("ours", my_errors)):
                    for code, message in errors:
                        print(f"  {label}: [{code}] {message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
