"""Every fixture set composed by ours and by the reference composer (@apollo/composition 2.14).

The supergraphs must carry the same join directives on every element (``join_structure``: layout,
ordering, defaults and the join spec version do not matter), and the error fixtures must fail with
the same error codes. Skipped, with the reason, when the reference composer is not installed.
"""

from __future__ import annotations

import pytest

from gateway.composition import CompositionError, compose
from tests.support.reference_composer import ReferenceResult, compose_with_reference
from tests.support.reference_tools import composer_unavailable

from .all_fixtures import ERROR_SETS, SUPERGRAPH_SETS
from .join_structure import differences, graphs, join_structure

pytestmark = pytest.mark.skipif(
    composer_unavailable() is not None, reason=f"reference composer: {composer_unavailable()}"
)


@pytest.fixture(scope="module")
def reference() -> dict[str, ReferenceResult]:
    return compose_with_reference({**SUPERGRAPH_SETS, **ERROR_SETS})


@pytest.mark.parametrize("name", sorted(SUPERGRAPH_SETS))
def test_same_join_directives_as_the_reference(name: str, reference: dict[str, ReferenceResult]) -> None:
    expected = reference[name]
    assert expected.supergraph is not None, f"the reference composer rejects {name}: {expected.errors}"
    ours = compose(SUPERGRAPH_SETS[name])
    assert differences(join_structure(expected.supergraph), join_structure(ours)) == []
    assert graphs(ours) == graphs(expected.supergraph)


@pytest.mark.parametrize("name", sorted(ERROR_SETS))
def test_same_error_codes_as_the_reference(name: str, reference: dict[str, ReferenceResult]) -> None:
    expected = reference[name]
    assert expected.supergraph is None, f"the reference composer composes {name}"
    with pytest.raises(CompositionError) as info:
        compose(ERROR_SETS[name])
    assert sorted(set(info.value.codes)) == expected.codes
