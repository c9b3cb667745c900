"""Parse + validate + plan + compile the response shape of one operation (the cached unit)."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    parse,
    validate,
    value_from_ast_untyped,
)

from ..authz.operation import AuthorizedVariant, OperationAuthorization
from ..config import OperationLimits
from ..errors import RequestError, error_dict
from ..limits.analysis import OperationAnalyzer
from ..limits.checks import VariableCost, check_measured, tokens_exceeded
from ..limits.costs import CostModel
from ..supergraph.model import Supergraph
from .incremental import IncrementalShape, active_defers, compile_incremental
from .nodes import PlanKey, QueryPlan
from .operation import CSel, Defer, normalize_selections
from .planner import INTROSPECTION_ROOT_FIELDS, Planner, PlanningError
from .shape import ShapeCompiler, ShapeSel

# Plans kept per prepared operation: one per (override labels, active @defers); `@defer(if: $v)` on
# many fragments could otherwise make a cached document hold 2^n plans. Past it, plans are made per request.
MAX_PLANS_PER_OPERATION = 64


def _graphql_error(error: GraphQLError, code: str) -> dict[str, Any]:
    locations = [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]
    return error_dict(error.message, code, locations or None)


@dataclass(slots=True)
class PreparedOperation:
    kind: str
    name: str | None
    document: DocumentNode
    operation: OperationDefinitionNode
    variable_definitions: dict[str, VariableDefinitionNode]
    defaults: dict[str, Any]
    shape: ShapeSel
    root_type: str
    selections: tuple[CSel, ...]
    introspection: DocumentNode | None
    supergraph: Supergraph
    # set when the estimated cost depends on variable slicing arguments: checked per request
    variable_cost: VariableCost | None = None
    estimated_cost: int = 0  # the demand-control estimate (without the variables' values)
    # the access requirements its selections meet (gateway.authz); None: none
    authorization: OperationAuthorization | None = None
    # the operation's @defer occurrences; which are in force is decided per request (`if: $v`)
    defers: tuple[Defer, ...] = ()
    schema: GraphQLSchema | None = None
    plans: dict[PlanKey, QueryPlan] = field(default_factory=dict)
    incremental: dict[frozenset[int], IncrementalShape] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def active_defers(self, variables: Mapping[str, Any]) -> frozenset[int]:
        return active_defers(self.defers, variables, self.kind) if self.defers else frozenset()

    def incremental_for(self, deferred: frozenset[int]) -> IncrementalShape:
        """The primary part's shape and the deferred parts' delivery for these active @defers (of the
        whole operation: a field authorization removed is shaped null, like in `shape`)."""
        shape = self.incremental.get(deferred)
        if shape is None:
            assert self.schema is not None
            shape = compile_incremental(self.schema, self.root_type, self.selections, deferred)
            if len(self.incremental) < MAX_PLANS_PER_OPERATION:
                self.incremental[deferred] = shape
        return shape

    def plan_for(
        self,
        labels: frozenset[str],
        deferred: frozenset[int] = frozenset(),
        variant: AuthorizedVariant | None = None,
    ) -> QueryPlan:
        """The plan for these override labels; with `deferred`, those @defer fragments are own parts;
        of `variant`'s selections (an authorization outcome's) when given, cached on the variant."""
        plans, lock, selections = (
            (self.plans, self._lock, self.selections)
            if variant is None
            else (variant.plans, variant.lock, variant.selections)
        )
        key = (labels, deferred)
        plan = plans.get(key)
        if plan is None:
            with lock:
                plan = plans.get(key)
                if plan is None:
                    planner = Planner(self.supergraph, labels, deferred)
                    try:
                        plan = planner.plan(self.kind, selections, self.variable_definitions, self.name)
                    except PlanningError as exc:
                        raise RequestError([error_dict(str(exc), "QUERY_PLANNING_FAILED")], 500) from exc
                    except RecursionError:
                        raise RequestError([error_dict("The operation is nested too deeply.", "BAD_REQUEST")]) from None
                    if len(plans) < MAX_PLANS_PER_OPERATION:
                        plans[key] = plan
        return plan


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise RequestError([error_dict("The document contains no operation.", "BAD_REQUEST")])
    if operation_name:
        for op in operations:
            if op.name and op.name.value == operation_name:
                return op
        raise RequestError([error_dict(f'Unknown operation named "{operation_name}".', "BAD_REQUEST")])
    if len(operations) > 1:
        raise RequestError(
            [error_dict("Must provide operation name if query contains multiple operations.", "BAD_REQUEST")]
        )
    return operations[0]


def _introspection_document(
    operation: OperationDefinitionNode, fragments: list[FragmentDefinitionNode]
) -> DocumentNode | None:
    by_name = {f.name.value: f for f in fragments}
    fields: list[FieldNode] = []

    def collect(selection_set: SelectionSetNode, seen: frozenset[str]) -> None:
        # introspection fields may sit in root-level fragments too
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                if sel.name.value in INTROSPECTION_ROOT_FIELDS:
                    fields.append(sel)
            elif isinstance(sel, InlineFragmentNode):
                collect(sel.selection_set, seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value in by_name and sel.name.value not in seen:
                collect(by_name[sel.name.value].selection_set, seen | {sel.name.value})

    collect(operation.selection_set, frozenset())
    if not fields:
        return None
    op = OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=operation.variable_definitions,
        directives=(),
        selection_set=SelectionSetNode(selections=tuple(fields)),
    )
    return DocumentNode(definitions=(op, *fragments))


_NO_LIMITS = OperationLimits(
    http_max_request_bytes=0, max_tokens=50_000, max_depth=0, max_aliases=0, max_root_fields=0, max_fields=0, max_cost=0
)
_NO_COSTS = CostModel()


def prepare_operation(
    query: str,
    operation_name: str | None,
    schema: GraphQLSchema,
    supergraph: Supergraph,
    limits: OperationLimits | None = None,
    costs: CostModel | None = None,
    labels: frozenset[str] | None = None,
    *,
    hide_suggestions: bool = False,
) -> PreparedOperation:
    """Without `limits` only a generous token ceiling applies (tools, tests); with `labels` the plan
    for those override labels is made here too, so a worker thread does all the heavy work.
    `hide_suggestions` drops "Did you mean ...?" from validation errors (production)."""
    try:
        prepared = _prepare(
            query, operation_name, schema, supergraph, limits or _NO_LIMITS, costs or _NO_COSTS, hide_suggestions
        )
        if labels is not None:
            # a planning failure is not the document's cached answer: it is retried (and reported) per request
            with contextlib.suppress(RequestError):
                prepared.plan_for(labels)
                unconditional = frozenset(d.id for d in prepared.defers if d.condition is None)
                if unconditional and prepared.kind != "subscription":  # the plan a multipart client gets
                    prepared.plan_for(labels, unconditional)
                    prepared.incremental_for(unconditional)
        return prepared
    except RecursionError:
        raise RequestError([error_dict("The operation is nested too deeply.", "BAD_REQUEST")]) from None


def _parse(query: str, limits: OperationLimits, *, locations: bool = False) -> DocumentNode:
    """Without locations by default: a node's location links every token of the document, which
    a cached operation would keep alive (and the garbage collector walk) for nothing."""
    max_tokens = limits.max_tokens if limits.max_tokens > 0 else None
    try:
        return parse(query, no_location=not locations, max_tokens=max_tokens)
    except GraphQLError as exc:
        if max_tokens is not None and "Parsing aborted" in exc.message:
            raise tokens_exceeded(max_tokens) from None
        raise RequestError([_graphql_error(exc, "GRAPHQL_PARSE_FAILED")]) from exc


def _operation_or_none(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    try:
        return select_operation(document, operation_name)
    except RequestError:
        return None  # reported after validation, as before limits existed


def _prepare(
    query: str,
    operation_name: str | None,
    schema: GraphQLSchema,
    supergraph: Supergraph,
    limits: OperationLimits,
    costs: CostModel,
    hide_suggestions: bool = False,
) -> PreparedOperation:
    document = _parse(query, limits)
    fragment_nodes = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    fragments = {f.name.value: f for f in fragment_nodes}
    candidate = _operation_or_none(document, operation_name)
    sliced = False
    estimated_cost = 0
    if candidate is not None:
        # before validation: its overlapping-fields rule is what a fragment bomb makes slow
        defaults = _variable_defaults(candidate)
        measured = OperationAnalyzer(schema, costs, limits.default_list_size, fragments, defaults).measure(candidate)
        check_measured(measured, limits)
        sliced = measured.variable_sliced
        estimated_cost = measured.cost
    # graphql-core's specified rules include the incremental-delivery ones (labels, root types)
    if validate(schema, document, hide_suggestions=hide_suggestions):  # again with locations, for the report
        errors = validate(schema, _parse(query, limits, locations=True), hide_suggestions=hide_suggestions)
        raise RequestError([_graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
    operation = select_operation(document, operation_name)
    kind = operation.operation.value
    root_type = supergraph.root_type(kind)
    if root_type is None:
        raise RequestError([error_dict(f"The schema has no {kind} type.", "GRAPHQL_VALIDATION_FAILED")])
    defers: list[Defer] = []
    selections = normalize_selections(operation.selection_set, fragments, defers=defers)
    variable_definitions = {v.variable.name.value: v for v in operation.variable_definitions or ()}
    defaults = _variable_defaults(operation)
    shape = ShapeCompiler(schema).compile_root(root_type, selections)
    variable_cost = None
    if sliced:
        variable_cost = VariableCost(
            schema, costs, limits, operation, fragments, defaults, tuple(variable_definitions), {}
        )
    return PreparedOperation(
        kind=kind,
        name=operation.name.value if operation.name else None,
        # only what the operation uses: the other operations of the document would be dead weight
        document=DocumentNode(definitions=(operation, *fragment_nodes)),
        operation=operation,
        variable_definitions=variable_definitions,
        defaults=defaults,
        shape=shape,
        root_type=root_type,
        selections=selections,
        introspection=_introspection_document(operation, fragment_nodes),
        supergraph=supergraph,
        variable_cost=variable_cost,
        estimated_cost=estimated_cost,
        defers=tuple(defers),
        schema=schema if defers else None,
    )


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    return {
        v.variable.name.value: value_from_ast_untyped(v.default_value)
        for v in operation.variable_definitions or ()
        if v.default_value is not None
    }


class PlanCache:
    """LRU of prepared operations (or of their request errors) keyed by (document, operationName);
    a long document is keyed by its digest (gateway.runtime)."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._items: OrderedDict[tuple[str | bytes, str | None], PreparedOperation | RequestError] = OrderedDict()

    def get(self, key: tuple[str | bytes, str | None]) -> PreparedOperation | RequestError | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[str | bytes, str | None], value: PreparedOperation | RequestError) -> None:
        if self.size == 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
