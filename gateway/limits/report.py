"""The demand-control estimate shown to a client that asks for it.

A request with the header `X-Cost-Estimate: true` gets `extensions.cost` in its response:
`{"estimated": <the static estimate, with the request's variable values>, "limit": <GATEWAY_MAX_COST,
0 when off>}`. Refused operations already carry `measured` and `limit` in their error.
"""

from __future__ import annotations

from typing import Any

from .checks import MAX_REPORTED

COST_HEADER = "x-cost-estimate"


def cost_extension(estimated: int, limit: int) -> dict[str, Any]:
    return {"estimated": min(estimated, MAX_REPORTED), "limit": limit}
