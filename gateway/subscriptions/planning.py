"""Split a client subscription into its upstream subscription and the per-event follow-up plan.

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

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    validate,
)

from ..planning.nodes import FetchNode, PlanNode, QueryPlan, SequenceNode
from ..planning.operation import CSel, normalize_selections
from ..planning.planner import Planner, PlanningError
from ..supergraph.model import Supergraph
from .executor import OperationError


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    root: FetchNode  # the upstream subscription (operation_kind "subscription")
    rest: PlanNode | None  # fetches run per event, with the event as the root result

    def upstream_variables(self, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        values = variables or {}
        return {name: values[name] for name in self.root.variable_usages if name in values}


def split_plan(plan: QueryPlan) -> SubscriptionPlan:
    node = plan.node
    if isinstance(node, FetchNode) and node.operation_kind == "subscription":
        return SubscriptionPlan(node, None)
    if isinstance(node, SequenceNode) and node.nodes:
        first, *rest = node.nodes
        if isinstance(first, FetchNode) and first.operation_kind == "subscription":
            tail: PlanNode | None = None
            if len(rest) == 1:
                tail = rest[0]
            elif rest:
                tail = SequenceNode(list(rest))
            return SubscriptionPlan(first, tail)
    raise PlanningError("a subscription must start with one fetch from the subgraph owning its root field")


@dataclass(frozen=True, slots=True)
class ParsedOperation:
    document: DocumentNode
    operation: OperationDefinitionNode

    @property
    def kind(self) -> OperationType:
        return self.operation.operation


def _error_dicts(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        formatted = dict(error.formatted)
        formatted.setdefault("extensions", {})
        formatted["extensions"] = {"code": "GRAPHQL_VALIDATION_FAILED", **formatted["extensions"]}
        out.append(formatted)
    return out


def parse_operation(query: str, operation_name: str | None) -> ParsedOperation:
    """Parse and pick the operation; syntax errors and a missing operation are request errors."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        formatted = dict(exc.formatted)
        formatted["extensions"] = {"code": "GRAPHQL_PARSE_FAILED"}
        raise OperationError([formatted]) from exc
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        message = (
            f"Unknown operation named '{operation_name}'."
            if operation_name
            else "Must provide operation name if query contains multiple operations."
        )
        raise OperationError.single(message, "GRAPHQL_VALIDATION_FAILED")
    return ParsedOperation(document, operation)


def validate_operation(schema: GraphQLSchema, parsed: ParsedOperation) -> None:
    errors = validate(schema, parsed.document)
    if errors:
        raise OperationError(_error_dicts(list(errors)))


def normalized_root(parsed: ParsedOperation) -> tuple[CSel, ...]:
    fragments = {d.name.value: d for d in parsed.document.definitions if d.__class__.__name__ == "FragmentDefinitionNode"}
    return normalize_selections(parsed.operation.selection_set, fragments)  # type: ignore[arg-type]


def plan_subscription(
    supergraph: Supergraph, parsed: ParsedOperation, active_labels: frozenset[str] = frozenset()
) -> tuple[SubscriptionPlan, tuple[CSel, ...]]:
    """Plan with the core planner, then split; returns the client selections for shaping too."""
    selections = normalized_root(parsed)
    variable_definitions = {v.variable.name.value: v for v in parsed.operation.variable_definitions or ()}
    name = parsed.operation.name.value if parsed.operation.name else None
    try:
        plan = Planner(supergraph, active_labels).plan("subscription", selections, variable_definitions, name)
        return split_plan(plan), selections
    except PlanningError as exc:
        raise OperationError.single(str(exc), "QUERY_PLANNING_FAILED") from exc
