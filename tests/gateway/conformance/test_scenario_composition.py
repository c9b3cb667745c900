"""Every conformance scenario's subgraphs, composed by ours and by @apollo/composition: the same join
directives on every element (as ``tests/gateway/composition/test_reference_parity.py`` for its fixtures).

The scenarios run on both supergraphs anyway; this pins down that both mean the same, so a scenario
that passes on one cannot hide a composition difference. Skipped when the reference composer is not
installed.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from gateway.composition import SubgraphSource, compose
from tests.gateway.composition.join_structure import differences, join_structure
from tests.support.reference_composer import ReferenceResult, compose_with_reference
from tests.support.reference_tools import composer_unavailable

from .conftest import SCENARIOS

for _module in sorted(Path(__file__).parent.glob("test_*.py")):
    if _module.stem != Path(__file__).stem:
        importlib.import_module(f"{__package__}.{_module.stem}")  # registers its scenario


def _sources(name: str) -> list[SubgraphSource]:
    return [SubgraphSource(s.name, f"http://{name}.local/{s.name}", s.sdl) for s in SCENARIOS[name]()]


pytestmark = pytest.mark.skipif(
    composer_unavailable() is not None, reason=f"reference composer: {composer_unavailable()}"
)


@pytest.fixture(scope="module")
def reference() -> dict[str, ReferenceResult]:
    return compose_with_reference({name: _sources(name) for name in SCENARIOS})


def test_every_scenario_module_registers_a_scenario() -> None:
    assert len(SCENARIOS) >= len(list(Path(__file__).parent.glob("test_*.py"))) - 2


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_composes_like_the_reference(name: str, reference: dict[str, ReferenceResult]) -> None:
    expected = reference[name]
    assert expected.supergraph is not None, expected.errors
    assert differences(join_structure(expected.supergraph), join_structure(compose(_sources(name)))) == []
