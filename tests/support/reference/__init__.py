"""Commands that run the reference gateways on a supergraph (see tests/support/reference_tools.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.reference_tools import node_modules

APOLLO_GATEWAY_JS = Path(__file__).with_name("apollo_gateway.js")


def apollo_gateway_command(supergraph: Path, port: int) -> list[str]:
    """`node apollo_gateway.js`: @apollo/gateway on ``supergraph``, serving ``/graphql`` and ``/ready``."""
    return ["node", str(APOLLO_GATEWAY_JS), str(node_modules()), str(supergraph), str(port)]
