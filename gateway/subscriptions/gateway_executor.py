"""The transports' executor backed by the core gateway: subscriptions through the engine,
queries and mutations through the normal request path."""

from __future__ import annotations

from .. import metrics
from ..errors import RequestError
from ..request import check_operation_kind
from ..runtime import Gateway
from .engine import SubscriptionEngine
from .executor import EventStream, ExecutionResult, OperationError
from .request import ClientContext, GraphQLRequest


class GatewayExecutor:
    def __init__(self, gateway: Gateway, engine: SubscriptionEngine) -> None:
        self.gateway = gateway
        self.engine = engine

    async def run(self, request: GraphQLRequest, context: ClientContext) -> ExecutionResult | EventStream:
        gateway = self.gateway
        try:
            claims = await gateway.identify(context.headers, context.peer)  # before planning, as over HTTP
            query = request.query
            if request.extensions is not None or gateway.persisted.safelist:
                query = await gateway.persisted.resolve(query, request.extensions)
            prepared = await gateway.prepare_async(query, request.operation_name)
            metrics.note_operation(prepared.name, prepared.kind)  # labels an SSE request (WebSocket: no-op)
            check_operation_kind(prepared.kind, via_get=request.via_get, streaming=True)
            if gateway.rate_limiter is not None:  # subscriptions count once, at subscribe time
                subject = claims.subject if claims else None
                await gateway.rate_limiter.check(prepared, subject, context.headers, context.peer)
            variables = self.gateway.coerce_variables(prepared, request.variables)
            if prepared.kind == "subscription":
                return self.engine.subscribe(prepared, variables, context, gateway.authorized(prepared, claims))
            if prepared.defers:  # @defer: the primary and each deferred part are one `next` payload each
                payloads = await self.gateway.execute_incremental(prepared, variables, context.headers, claims=claims)
                if payloads is not None:
                    return payloads
            return await self.gateway.execute_prepared(prepared, variables, context.headers, claims=claims)
        except RequestError as exc:  # refused before execution, with the reasons HTTP counts
            metrics.note_refusal(exc.errors)
            raise OperationError(exc.errors) from exc
