"""Federated subscriptions: one shared upstream subscription, each event completed like a query.

Preparation (parse, validate, plan, response shape) is the core gateway's, cached with its
queries. The plan's root fetch becomes a shared upstream subscription (hub.py); each event is
merged into a fresh :class:`PlanExecution` as the root result, the remaining fetches of the plan
run as for a query (entity fetches for fields other subgraphs own), and the core's response
shaping builds the client's result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from .. import tracing
from ..authz.operation import AuthorizedVariant
from ..execution.executor import PlanExecution, merge_into, subgraph_errors
from ..execution.shaping import shape_response
from ..planning.prepare import PreparedOperation, RequestError
from ..runtime import Gateway
from .executor import ExecutionResult, OperationError
from .hub import HubSubscription, SubscriptionHub
from .planning import SubscriptionPlan, split_plan
from .request import ClientContext
from .upstream import UpstreamRequest

# Added by the core to every subgraph HTTP request; meaningless on a WebSocket handshake.
_HTTP_ONLY_HEADERS = frozenset({"content-type", "accept"})


class EnrichedStream:
    """A client's subscription: raw upstream events in, completed results out."""

    def __init__(
        self,
        engine: SubscriptionEngine,
        source: HubSubscription,
        prepared: PreparedOperation,
        plan: SubscriptionPlan,
        variables: Mapping[str, Any],
        headers: Mapping[str, str],
        auth_errors: tuple[dict[str, Any], ...] = (),
    ) -> None:
        self._auth_errors = auth_errors
        self._engine = engine
        self._source = source
        self._prepared = prepared
        self._plan = plan
        self._variables = variables
        self._headers = headers
        self._span = tracing.subscribed(prepared.name, headers)

    def __aiter__(self) -> AsyncIterator[ExecutionResult]:
        return self

    async def __anext__(self) -> ExecutionResult:
        event = await self._source.__anext__()
        with tracing.completing_event(self._prepared.name, self._span):
            return await self._engine.complete_event(
                self._prepared, self._plan, event, self._variables, self._headers, self._auth_errors
            )

    async def aclose(self) -> None:
        await self._source.aclose()


class SubscriptionEngine:
    def __init__(self, gateway: Gateway, hub: SubscriptionHub) -> None:
        self.gateway = gateway
        self.hub = hub

    def subscribe(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any],
        context: ClientContext,
        variant: AuthorizedVariant | None = None,
    ) -> EnrichedStream:
        """Join (or start) the upstream subscription of `prepared`, a subscription operation; of its
        authorized part when `variant` (gateway.authz) removed fields."""
        if variant is not None and not variant.selections:
            raise OperationError([dict(error) for error in variant.errors])
        try:
            plan = split_plan(self.gateway.plan(prepared, variant))
        except RequestError as exc:
            raise OperationError(exc.errors) from exc
        root = plan.root
        url = self.gateway.client.urls.get(root.service)
        if url is None:
            raise OperationError.single(f"no URL for subgraph '{root.service}'", "QUERY_PLANNING_FAILED")
        forwarded = {
            name: value
            for name, value in self.gateway.subgraph_headers(context.headers).items()
            if name not in _HTTP_ONLY_HEADERS
        }
        upstream = UpstreamRequest.build(
            root.service, url, root.operation, plan.upstream_variables(variables), headers=forwarded
        )
        auth_errors = variant.errors if variant is not None else ()
        return EnrichedStream(self, self.hub.join(upstream), prepared, plan, variables, context.headers, auth_errors)

    async def complete_event(
        self,
        prepared: PreparedOperation,
        plan: SubscriptionPlan,
        event: ExecutionResult,
        variables: Mapping[str, Any],
        headers: Mapping[str, str],
        auth_errors: tuple[dict[str, Any], ...] = (),
    ) -> ExecutionResult:
        run = PlanExecution(
            self.gateway.client, self.gateway.supergraph, variables, self.gateway.subgraph_headers(headers)
        )
        run.errors.extend(dict(error) for error in auth_errors)
        data = event.get("data")
        if isinstance(data, dict):
            merge_into(run.data, data)
        if event.get("errors"):
            run.errors.extend(subgraph_errors(event["errors"], plan.root.service))
        if data is None:
            return {"errors": run.errors or [{"message": "the subgraph sent an event without data"}], "data": None}
        await run.run(plan.rest)
        result: dict[str, Any] = {}
        shaped = shape_response(prepared.shape, run.data, variables, run.errors)
        if run.errors:
            result["errors"] = run.errors
        result["data"] = shaped
        return result
