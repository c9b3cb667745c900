"""Commands that run the reference gateways on a supergraph (see tests/support/reference_tools.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.reference_tools import node_modules

APOLLO_GATEWAY_JS = Path(__file__).with_name("apollo_gateway.js")
QUERY_PLAN_JS = Path(__file__).with_name("query_plan.js")


def apollo_gateway_command(supergraph: Path, port: int) -> list[str]:
    """`node apollo_gateway.js`: @apollo/gateway on ``supergraph``, serving ``/graphql`` and ``/ready``."""
    return ["node", str(APOLLO_GATEWAY_JS), str(node_modules()), str(supergraph), str(port)]


def reference_query_plan(supergraph_sdl: str, query: str) -> Any:
    """@apollo/query-planner's plan node (JSON) for ``query`` on the supergraph."""
    proc = subprocess.run(
        ["node", str(QUERY_PLAN_JS), str(node_modules())],
        input=json.dumps({"supergraph": supergraph_sdl, "query": query}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"reference query planning failed:\n{proc.stderr}")
    return json.loads(proc.stdout)
