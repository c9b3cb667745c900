"""Resuming an SSE subscription: `id:` lines out, `Last-Event-ID` in.

The gateway knows no domain, so resumption is a convention on the subgraph's schema, with both names
settable (SubscriptionSettings): a subscription field whose events carry an **event id field**
(`eventId`, GATEWAY_SSE_EVENT_ID_FIELD) takes a **cursor argument** (`after`, GATEWAY_SSE_CURSOR_ARGUMENT)
meaning "the events after this id". The orders subgraph's `orderStatusChanged(orderId, after)` does.

When the operation's root field selects the event id field (under any alias), each `next` event is
sent with `id: <that value>`. A request with `Last-Event-ID` (a browser EventSource reconnecting)
then gets the cursor set to it: the variable the argument already names, or the argument written
into the operation (not for persisted or safelisted operations, whose text is fixed: there the
cursor must be a variable). Operations that do not select the id field are neither numbered nor
resumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

from .request import GraphQLRequest

# Longer ids are not ours: refused rather than echoed (an SSE id is one line).
MAX_EVENT_ID_LENGTH = 256


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where an event's id is in a result: data[root_key][id_key]."""

    root_key: str
    id_key: str

    def event_id(self, result: Mapping[str, Any]) -> str | None:
        data = result.get("data")
        payload = data.get(self.root_key) if isinstance(data, Mapping) else None
        value = payload.get(self.id_key) if isinstance(payload, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        return clean_event_id(str(value))


def clean_event_id(value: str | None) -> str | None:
    """An id fit for an `id:` line and for a cursor: one line, no NUL, bounded; None otherwise."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_EVENT_ID_LENGTH or any(c in value for c in "\r\n\0"):
        return None
    return value


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        return next((op for op in operations if op.name is not None and op.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


def _root_field(operation: OperationDefinitionNode) -> FieldNode | None:
    fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    if operation.operation is not OperationType.SUBSCRIPTION or len(fields) != 1:
        return None
    if len(operation.selection_set.selections) != 1:  # fragments at the root: not ours to guess
        return None
    return fields[0]


def _id_key(selection_set: SelectionSetNode | None, field_name: str) -> str | None:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode) and selection.name.value == field_name:
            return (selection.alias or selection.name).value
        if isinstance(selection, InlineFragmentNode) and not selection.directives:
            found = _id_key(selection.selection_set, field_name)
            if found:
                return found
    return None


class SseResumption:
    """The convention of this module for one pair of names."""

    def __init__(self, cursor_argument: str = "after", event_id_field: str = "eventId") -> None:
        self.cursor_argument = cursor_argument
        self.event_id_field = event_id_field

    def _parsed(self, request: GraphQLRequest) -> tuple[DocumentNode, FieldNode] | None:
        if not self.cursor_argument or not self.event_id_field or self.event_id_field not in (request.query or ""):
            return None  # the field's name is not even in the text: no parse
        try:
            document = parse(request.query)
        except GraphQLError:  # the executor reports it
            return None
        operation = _operation(document, request.operation_name)
        field = _root_field(operation) if operation else None
        if field is None or _id_key(field.selection_set, self.event_id_field) is None:
            return None
        return document, field

    def prepare(self, request: GraphQLRequest, last_event_id: str | None) -> tuple[GraphQLRequest, ResumePoint | None]:
        """The request to run (its cursor set to `last_event_id` when numbered and given) and where
        each result's event id is (None: not numbered); the operation is parsed once."""
        parsed = self._parsed(request)
        if parsed is None:
            return request, None
        return self._resumed(request, parsed, last_event_id), self._point(parsed[1])

    def point(self, request: GraphQLRequest) -> ResumePoint | None:
        """Where each result's event id is, or None when this operation is not numbered."""
        parsed = self._parsed(request)
        return None if parsed is None else self._point(parsed[1])

    def resumed(self, request: GraphQLRequest, last_event_id: str | None) -> GraphQLRequest:
        """`request` with its cursor set to `last_event_id` (unchanged without one or when not numbered)."""
        parsed = self._parsed(request) if clean_event_id(last_event_id) else None
        return request if parsed is None else self._resumed(request, parsed, last_event_id)

    def _point(self, field: FieldNode) -> ResumePoint:
        id_key = _id_key(field.selection_set, self.event_id_field)
        assert id_key is not None  # _parsed checked it
        return ResumePoint((field.alias or field.name).value, id_key)

    def _resumed(
        self, request: GraphQLRequest, parsed: tuple[DocumentNode, FieldNode], last_event_id: str | None
    ) -> GraphQLRequest:
        last = clean_event_id(last_event_id)
        if last is None:
            return request
        document, field = parsed
        arguments = list(field.arguments or ())
        for index, argument in enumerate(arguments):
            if argument.name.value != self.cursor_argument:
                continue
            if isinstance(argument.value, VariableNode):
                variables = {**(request.variables or {}), argument.value.name.value: last}
                return replace(request, variables=variables)
            del arguments[index]
            break
        if request.extensions and "persistedQuery" in request.extensions:
            return request  # a persisted operation's text is fixed: resumable through a variable only
        arguments.append(ArgumentNode(name=NameNode(value=self.cursor_argument), value=StringValueNode(value=last)))
        return replace(request, query=print_ast(visit(document, _Replace(field, arguments))))


class _Replace(Visitor):
    """Gives one field node (by identity) new arguments; AST nodes are immutable."""

    def __init__(self, field: FieldNode, arguments: list[ArgumentNode]) -> None:
        super().__init__()
        self.field = field
        self.arguments = tuple(arguments)

    def enter_field(self, node: FieldNode, *_args: Any) -> FieldNode | None:
        if node is not self.field:
            return None
        return FieldNode(alias=node.alias, name=node.name, arguments=self.arguments, directives=node.directives,
                         selection_set=node.selection_set)
