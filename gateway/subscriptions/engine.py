"""Federated subscriptions: one shared upstream subscription, each event completed like a query.

Preparation (parse, validate, plan, response shape) is the core gateway's, cached with its
queries. The plan's root fetch becomes a shared upstream subscription (hub.py); each event is
merged into a fresh :class:`PlanExecution` as the root result, the remaining fetches of the plan
run as for a query (entity fetches for fields other subgraphs own), and the core's response
shaping builds the client's result. Clients whose completion cannot differ complete each event
once between them (sharing.py), and the per-request identity headers split neither the upstream
nor the completion.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

from .. import tracing
from ..authz.operation import AuthorizedVariant
from ..execution.executor import PlanExecution, subgraph_errors
from ..execution.merge import merge_into
from ..execution.shaping import shape_response
from ..planning.prepare import PreparedOperation, RequestError
from ..runtime import PER_REQUEST_HEADERS, Gateway
from .executor import ExecutionResult, OperationError
from .hub import HubSubscription, SubscriptionHub
from .planning import SubscriptionPlan, split_plan
from .request import ClientContext
from .sharing import Completer, CompletionGroup, CompletionGroups, CompletionKey, GroupMember
from .upstream import UpstreamRequest

logger = logging.getLogger("gateway.subscriptions.engine")

# Added by the core to every subgraph HTTP request; meaningless on a WebSocket handshake.
_HTTP_ONLY_HEADERS = frozenset({"content-type", "accept"})


class EnrichedStream:
    """A client's subscription: raw upstream events in, completed results out (results are shared
    with the other members of its completion group: read-only)."""

    def __init__(self, source: HubSubscription, member: GroupMember) -> None:
        self._source = source
        self._member = member

    def __aiter__(self) -> AsyncIterator[ExecutionResult]:
        return self

    async def __anext__(self) -> ExecutionResult:
        sequence, event = await self._source.next_event()
        return await self._member.complete(sequence, event)

    async def aclose(self) -> None:
        self._member.leave()
        await self._source.aclose()


class SubscriptionEngine:
    def __init__(self, gateway: Gateway, hub: SubscriptionHub) -> None:
        self.gateway = gateway
        self.hub = hub
        self.groups = CompletionGroups()

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
            planned = self.gateway.plan(prepared, variant)
            plan = split_plan(planned)
        except RequestError as exc:
            raise OperationError(exc.errors) from exc
        root = plan.root
        url = self.gateway.client.urls.get(root.service)
        if url is None:
            raise OperationError.single(f"no URL for subgraph '{root.service}'", "QUERY_PLANNING_FAILED")
        fetch_headers = self.gateway.subgraph_headers(context.headers)
        forwarded = {name: value for name, value in fetch_headers.items() if name not in _HTTP_ONLY_HEADERS}
        upstream = UpstreamRequest.build(
            root.service, url, root.operation, plan.upstream_variables(variables), headers=forwarded
        )
        rights = {name: value for name, value in forwarded.items() if name not in PER_REQUEST_HEADERS}
        anchors = (prepared, planned, variant)
        source = self.hub.join(upstream)
        key = CompletionKey.of(source.upstream, anchors, variables, rights)
        shared = {name: value for name, value in fetch_headers.items() if name not in PER_REQUEST_HEADERS}
        auth_errors = variant.errors if variant is not None else ()

        def completer(group: CompletionGroup) -> Completer:
            async def complete(sequence: int, event: ExecutionResult, link: Any) -> ExecutionResult:
                headers = {**shared, "x-request-id": group.request_id(sequence)}
                with tracing.completing_event(prepared.name, link):
                    return await self.complete_event(prepared, plan, event, variables, headers, auth_errors)

            return complete

        link = tracing.subscribed(prepared.name, context.headers)
        member = self.groups.join(key, anchors, source.first_sequence, link, completer)
        # the subgraphs see the group's request ids (`subscription-<group>-<event>`): this ties them to the client's
        logger.debug("request %s: %s completes its events in group %s (%d members)",
                     context.headers.get("x-request-id", "-"), prepared.name or "subscription", member.group.id,
                     member.group.size)
        return EnrichedStream(source, member)

    async def complete_event(
        self,
        prepared: PreparedOperation,
        plan: SubscriptionPlan,
        event: ExecutionResult,
        variables: Mapping[str, Any],
        fetch_headers: Mapping[str, str],
        auth_errors: tuple[dict[str, Any], ...] = (),
    ) -> ExecutionResult:
        """One event's result: `fetch_headers` go to the subgraphs as they are."""
        run = PlanExecution(self.gateway.client, self.gateway.supergraph, variables, fetch_headers)
        run.errors.extend(dict(error) for error in auth_errors)
        data = event.get("data")
        if isinstance(data, dict):
            # a copy: the event is shared by every completion of the upstream, and merging entities
            # into it would let one operation's fields stand in for another's
            merge_into(run.data, orjson.loads(orjson.dumps(data)))
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
