"""Composition by the reference composer, @apollo/composition, for comparisons with ours.

Every subgraph set is composed in one node process (starting node costs more than composing).
Call ``reference_tools.composer_unavailable()`` first: this module assumes the composer can run.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.composition import SubgraphSource

from .reference_tools import node_modules

SCRIPT = Path(__file__).with_name("reference") / "compose_many.js"


@dataclass(frozen=True)
class ReferenceResult:
    """The supergraph SDL, or the (code, message) of every composition error."""

    supergraph: str | None
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return sorted({code for code, _ in self.errors})


def compose_with_reference(
    sets: Mapping[str, Sequence[SubgraphSource]], *, timeout: float = 300.0
) -> dict[str, ReferenceResult]:
    payload = {name: [{"name": s.name, "url": s.url, "sdl": s.sdl} for s in subs] for name, subs in sets.items()}
    proc = subprocess.run(
        ["node", str(SCRIPT), str(node_modules())],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the reference composer failed to run:\n{proc.stderr}")
    results: dict[str, ReferenceResult] = {}
    for name, result in json.loads(proc.stdout).items():
        errors = [(str(e.get("code")), str(e.get("message"))) for e in result.get("errors", ())]
        results[name] = ReferenceResult(result.get("supergraph"), errors)
    return results
