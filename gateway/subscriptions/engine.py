"""Federated subscriptions: one shared upstream subscription, each event completed like a query.

For a client subscription the engine validates it against the API schema, plans it with the core
planner (cached per query text and operation name), joins the shared upstream subscription of
the root fetch, and completes each event with the core executor (entity fetches for fields other
subgraphs own, then response shaping) through an :class:`EventCompleter`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import GraphQLSchema

from ..supergraph.model import Supergraph
from .executor import ExecutionResult, OperationError
from .hub import HubSubscription, SubscriptionHub
from .planning import ParsedOperation, SubscriptionPlan, plan_subscription, validate_operation
from .request import ClientContext, GraphQLRequest
from .upstream import UpstreamRequest


@dataclass(frozen=True, slots=True)
class PreparedSubscription:
    """A validated, planned client subscription (cached and shared by every client sending it)."""

    parsed: ParsedOperation
    plan: SubscriptionPlan
    selections: tuple[Any, ...]  # the client's normalised root selections (planning.operation.CSel)


class EventCompleter(Protocol):
    """Turn one upstream result into the client's result: run `prepared.plan.rest` with the event's
    data as the root result, then shape it to the client's selection set."""

    async def __call__(
        self,
        prepared: PreparedSubscription,
        event: ExecutionResult,
        variables: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> ExecutionResult: ...


class EnrichedStream:
    """A client's subscription: raw upstream events in, completed results out."""

    def __init__(
        self,
        source: HubSubscription,
        complete: EventCompleter,
        prepared: PreparedSubscription,
        variables: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> None:
        self._source = source
        self._complete = complete
        self._prepared = prepared
        self._variables = variables
        self._headers = headers

    def __aiter__(self) -> AsyncIterator[ExecutionResult]:
        return self

    async def __anext__(self) -> ExecutionResult:
        event = await self._source.__anext__()
        return await self._complete(self._prepared, event, self._variables, self._headers)

    async def aclose(self) -> None:
        await self._source.aclose()


class SubscriptionEngine:
    def __init__(
        self,
        supergraph: Supergraph,
        api_schema: GraphQLSchema,
        hub: SubscriptionHub,
        complete: EventCompleter,
        *,
        subgraph_url: Callable[[str], str] | None = None,
        forward_headers: tuple[str, ...] = (),
        active_labels: frozenset[str] = frozenset(),
        cache_size: int = 256,
    ) -> None:
        self.supergraph = supergraph
        self.api_schema = api_schema
        self.hub = hub
        self._complete = complete
        self._subgraph_url = subgraph_url or (lambda name: supergraph.subgraphs[name].url)
        self._forward = frozenset(h.lower() for h in forward_headers) | {"authorization"}
        self._labels = active_labels
        self._cache: OrderedDict[tuple[str, str | None], PreparedSubscription] = OrderedDict()
        self._cache_size = cache_size

    def prepare(self, request: GraphQLRequest, parsed: ParsedOperation) -> PreparedSubscription:
        key = (request.query, request.operation_name)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        validate_operation(self.api_schema, parsed)
        plan, selections = plan_subscription(self.supergraph, parsed, self._labels)
        prepared = PreparedSubscription(parsed, plan, selections)
        self._cache[key] = prepared
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return prepared

    def forwarded_headers(self, context: ClientContext) -> dict[str, str]:
        return {name: value for name, value in context.headers.items() if name in self._forward}

    def subscribe(self, request: GraphQLRequest, parsed: ParsedOperation, context: ClientContext) -> EnrichedStream:
        prepared = self.prepare(request, parsed)
        root = prepared.plan.root
        if root.service not in self.supergraph.subgraphs:
            raise OperationError.single(f"unknown subgraph '{root.service}'", "QUERY_PLANNING_FAILED")
        headers = self.forwarded_headers(context)
        upstream = UpstreamRequest.build(
            root.service,
            self._subgraph_url(root.service),
            root.operation,
            prepared.plan.upstream_variables(request.variables),
            headers=headers,
        )
        variables = dict(request.variables or {})
        return EnrichedStream(self.hub.join(upstream), self._complete, prepared, variables, headers)
