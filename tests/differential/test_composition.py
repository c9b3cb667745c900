"""The shop's subgraphs composed by @apollo/composition: it accepts them, and the API schema clients
see is the one our composer gives (the differential tests serve our composer's supergraph)."""

from __future__ import annotations

import json
import subprocess

import pytest
from graphql import lexicographic_sort_schema, print_schema

from gateway.supergraph import build_api_schema
from tests.gateway.conformance.harness.gateway import REFCOMPOSE_JS
from tests.support.reference_tools import composer_unavailable, node_modules

from .conftest import Shop

pytestmark = pytest.mark.slow


def test_the_reference_composer_gives_the_same_api_schema(shop: Shop) -> None:
    reason = composer_unavailable()
    if reason:
        pytest.skip(reason)
    payload = [{"name": name, "url": shop.urls[name], "sdl": sdl} for name, sdl in shop.sdls.items()]
    composed = subprocess.run(["node", str(REFCOMPOSE_JS), str(node_modules())], input=json.dumps(payload),
                              capture_output=True, text=True, timeout=60)
    assert composed.returncode == 0, composed.stderr
    ours = print_schema(lexicographic_sort_schema(shop.api_schema))
    theirs = print_schema(lexicographic_sort_schema(build_api_schema(composed.stdout)))
    assert "type Query" in ours
    assert ours == theirs
