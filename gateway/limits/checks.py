"""Refusals for operations over the configured limits: 400 with a code, the limit and the measured value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode

from ..config import OperationLimits
from ..errors import RequestError
from .analysis import Measured, OperationAnalyzer
from .costs import CostModel

MAX_TOKENS_EXCEEDED = "MAX_TOKENS_EXCEEDED"
MAX_DEPTH_EXCEEDED = "MAX_DEPTH_EXCEEDED"
MAX_ALIASES_EXCEEDED = "MAX_ALIASES_EXCEEDED"
MAX_ROOT_FIELDS_EXCEEDED = "MAX_ROOT_FIELDS_EXCEEDED"
MAX_FIELDS_EXCEEDED = "MAX_FIELDS_EXCEEDED"
COST_ESTIMATED_TOO_EXPENSIVE = "COST_ESTIMATED_TOO_EXPENSIVE"
COST_QUERY_PARSE_FAILURE = "COST_QUERY_PARSE_FAILURE"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"


# Measurements are exact Python ints (a fragment bomb measures 2**199 fields); JSON and its
# readers hold integers up to 2**53 exactly, so larger ones are reported as that bound.
MAX_REPORTED = 2**53 - 1


def _shown(value: int) -> str:
    return str(value) if value <= MAX_REPORTED else f"more than {MAX_REPORTED}"


def limit_error(message: str, code: str, limit: int, measured: int | None = None, status: int = 400) -> RequestError:
    extensions: dict[str, Any] = {"code": code, "limit": limit}
    if measured is not None:
        extensions["measured"] = min(measured, MAX_REPORTED)
    return RequestError([{"message": message, "extensions": extensions}], status)


def tokens_exceeded(limit: int) -> RequestError:
    return limit_error(
        f"The document has more than {limit} tokens (the parser stopped there).", MAX_TOKENS_EXCEEDED, limit
    )


def check_measured(measured: Measured, limits: OperationLimits) -> None:
    """Raise the first limit `measured` exceeds; cheap structural limits before cost."""
    checks = (
        (limits.max_aliases, measured.aliases, MAX_ALIASES_EXCEEDED, "aliases"),
        (limits.max_root_fields, measured.root_fields, MAX_ROOT_FIELDS_EXCEEDED, "root fields"),
        (limits.max_depth, measured.depth, MAX_DEPTH_EXCEEDED, "levels of depth"),
        (limits.max_fields, measured.fields, MAX_FIELDS_EXCEEDED, "fields with fragments expanded"),
    )
    for limit, value, code, what in checks:
        if limit > 0 and value > limit:
            raise limit_error(f"The operation has {_shown(value)} {what}; the limit is {limit}.", code, limit, value)
    check_cost(measured.cost, limits, measured.slicing_error)


def check_cost(cost: int, limits: OperationLimits, slicing_error: str | None = None) -> None:
    """Demand control applies when a cost limit is set: the @listSize rules, then the estimate."""
    if limits.max_cost > 0 and slicing_error is not None:
        raise RequestError([{"message": slicing_error, "extensions": {"code": COST_QUERY_PARSE_FAILURE}}])
    if limits.max_cost > 0 and cost > limits.max_cost:
        raise limit_error(
            f"The operation's estimated cost is {_shown(cost)}; the limit is {limits.max_cost}.",
            COST_ESTIMATED_TOO_EXPENSIVE,
            limits.max_cost,
            cost,
        )


@dataclass(slots=True)
class VariableCost:
    """The cost of an operation whose slicing arguments are variables, checked per request values.

    Measurements are kept per distinct tuple of variable values (a few), so repeats cost a lookup.
    """

    schema: GraphQLSchema
    costs: CostModel
    limits: OperationLimits
    operation: OperationDefinitionNode
    fragments: Mapping[str, FragmentDefinitionNode]
    defaults: Mapping[str, Any]
    names: tuple[str, ...]
    _seen: dict[tuple[Any, ...], tuple[int, str | None]]

    MAX_REMEMBERED = 64

    def check(self, variables: Mapping[str, Any]) -> None:
        cost, slicing_error = self.measure(variables)
        check_cost(cost, self.limits, slicing_error)

    def measure(self, variables: Mapping[str, Any]) -> tuple[int, str | None]:
        """The estimated cost with these variable values, and a @listSize rule it breaks (if any)."""
        key = tuple(_hashable(variables.get(name)) for name in self.names)
        known = self._seen.get(key)
        if known is None:
            analyzer = OperationAnalyzer(
                self.schema, self.costs, self.limits.default_list_size, self.fragments, self.defaults, variables
            )
            measured = analyzer.measure(self.operation)
            known = (measured.cost, measured.slicing_error)
            if len(self._seen) >= self.MAX_REMEMBERED:
                self._seen.clear()
            self._seen[key] = known
        return known


def _hashable(value: Any) -> Any:
    return value if isinstance(value, int | str | float | bool | None) else repr(value)
