"""Split a planned subscription into its upstream subscription and the per-event follow-up plan.

The core planner plans a subscription operation like a query: its root fetch is a `subscription`
operation against the subgraph owning the root field (with the keys and `@requires` inputs that
later entity hops need already in its selection), and everything else is `Flatten` entity fetches
that depend on it. We run that root fetch as a long-lived upstream subscription and, for each
event, the remaining nodes with the event as the root result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..planning.nodes import FetchNode, PlanNode, QueryPlan, SequenceNode
from .executor import OperationError


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    root: FetchNode  # the upstream subscription (operation_kind "subscription")
    rest: QueryPlan  # fetches run per event, with the event as the root result (node None: none)

    def upstream_variables(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        return {name: variables[name] for name in self.root.variable_usages if name in variables}


def split_plan(plan: QueryPlan) -> SubscriptionPlan:
    node = plan.node
    if isinstance(node, FetchNode) and node.operation_kind == "subscription":
        return SubscriptionPlan(node, QueryPlan(None))
    if isinstance(node, SequenceNode) and node.nodes:
        first, *rest = node.nodes
        if isinstance(first, FetchNode) and first.operation_kind == "subscription":
            tail: PlanNode | None = None
            if len(rest) == 1:
                tail = rest[0]
            elif rest:
                tail = SequenceNode(list(rest))
            return SubscriptionPlan(first, QueryPlan(tail))
    raise OperationError.single(
        "a subscription must start with one fetch from the subgraph owning its root field", "QUERY_PLANNING_FAILED"
    )
