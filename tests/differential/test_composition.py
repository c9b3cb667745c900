"""The shop's subgraphs composed by @apollo/composition: it accepts them, and the API schema clients
see is the one our composer gives (the differential tests serve our composer's supergraph, and
test_reads.py the reference composer's too)."""

from __future__ import annotations

import pytest
from graphql import lexicographic_sort_schema, print_schema

from gateway.supergraph import build_api_schema

from .conftest import Shop

pytestmark = pytest.mark.slow


def test_the_reference_composer_gives_the_same_api_schema(shop: Shop, reference_supergraph: str) -> None:
    ours = print_schema(lexicographic_sort_schema(shop.api_schema))
    theirs = print_schema(lexicographic_sort_schema(build_api_schema(reference_supergraph)))
    assert "type Query" in ours
    assert ours == theirs
