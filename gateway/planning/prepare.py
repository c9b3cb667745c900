"""Parse + validate + plan + compile the response shape of one operation (the cached unit)."""

from __future__ import annotations

import threading
from collections import OrderedDict
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

from ..supergraph.model import Supergraph
from .nodes import QueryPlan
from .operation import CSel, normalize_selections
from .planner import INTROSPECTION_ROOT_FIELDS, Planner, PlanningError
from .shape import ShapeCompiler, ShapeSel


class RequestError(Exception):
    """A request-level failure: no execution happens, the response has `errors` and no `data`."""

    def __init__(self, errors: list[dict[str, Any]], status: int = 400) -> None:
        super().__init__(errors[0]["message"] if errors else "request error")
        self.errors = errors
        self.status = status


def error_dict(message: str, code: str, locations: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message}
    if locations:
        out["locations"] = locations
    out["extensions"] = {"code": code}
    return out


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
    plans: dict[frozenset[str], QueryPlan] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan_for(self, labels: frozenset[str]) -> QueryPlan:
        plan = self.plans.get(labels)
        if plan is None:
            with self._lock:
                plan = self.plans.get(labels)
                if plan is None:
                    planner = Planner(self.supergraph, labels)
                    try:
                        plan = planner.plan(self.kind, self.selections, self.variable_definitions, self.name)
                    except PlanningError as exc:
                        raise RequestError([error_dict(str(exc), "QUERY_PLANNING_FAILED")], 500) from exc
                    except RecursionError:
                        raise RequestError([error_dict("The operation is nested too deeply.", "BAD_REQUEST")]) from None
                    self.plans[labels] = plan
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


MAX_TOKENS = 50_000


def prepare_operation(
    query: str,
    operation_name: str | None,
    schema: GraphQLSchema,
    supergraph: Supergraph,
    *,
    hide_suggestions: bool = False,
) -> PreparedOperation:
    """`hide_suggestions` drops "Did you mean ...?" from validation errors (production)."""
    try:
        return _prepare(query, operation_name, schema, supergraph, hide_suggestions)
    except RecursionError:
        raise RequestError([error_dict("The operation is nested too deeply.", "BAD_REQUEST")]) from None


def _prepare(
    query: str, operation_name: str | None, schema: GraphQLSchema, supergraph: Supergraph, hide_suggestions: bool
) -> PreparedOperation:
    try:
        document = parse(query, no_location=False, max_tokens=MAX_TOKENS)
    except GraphQLError as exc:
        raise RequestError([_graphql_error(exc, "GRAPHQL_PARSE_FAILED")]) from exc
    errors = validate(schema, document, hide_suggestions=hide_suggestions)
    if errors:
        raise RequestError([_graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
    operation = select_operation(document, operation_name)
    kind = operation.operation.value
    root_type = supergraph.root_type(kind)
    if root_type is None:
        raise RequestError([error_dict(f"The schema has no {kind} type.", "GRAPHQL_VALIDATION_FAILED")])
    fragment_nodes = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    fragments = {f.name.value: f for f in fragment_nodes}
    selections = normalize_selections(operation.selection_set, fragments)
    variable_definitions = {v.variable.name.value: v for v in operation.variable_definitions or ()}
    defaults = {
        name: value_from_ast_untyped(v.default_value)
        for name, v in variable_definitions.items()
        if v.default_value is not None
    }
    shape = ShapeCompiler(schema).compile_root(root_type, selections)
    return PreparedOperation(
        kind=kind,
        name=operation.name.value if operation.name else None,
        document=document,
        operation=operation,
        variable_definitions=variable_definitions,
        defaults=defaults,
        shape=shape,
        root_type=root_type,
        selections=selections,
        introspection=_introspection_document(operation, fragment_nodes),
        supergraph=supergraph,
    )


class PlanCache:
    """LRU of prepared operations (or of their request errors) keyed by (document, operationName)."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._items: OrderedDict[tuple[str, str | None], PreparedOperation | RequestError] = OrderedDict()

    def get(self, key: tuple[str, str | None]) -> PreparedOperation | RequestError | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[str, str | None], value: PreparedOperation | RequestError) -> None:
        if self.size == 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
