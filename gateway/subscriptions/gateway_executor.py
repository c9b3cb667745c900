"""The transports' executor backed by the core gateway: subscriptions through the engine,
queries and mutations through the normal request path."""

from __future__ import annotations

from ..planning.prepare import RequestError
from ..runtime import Gateway
from .engine import SubscriptionEngine
from .executor import EventStream, ExecutionResult, OperationError
from .request import ClientContext, GraphQLRequest


class GatewayExecutor:
    def __init__(self, gateway: Gateway, engine: SubscriptionEngine) -> None:
        self.gateway = gateway
        self.engine = engine

    async def run(self, request: GraphQLRequest, context: ClientContext) -> ExecutionResult | EventStream:
        try:
            await self.gateway.auth.verify_request_token(context.headers)  # before planning, as over HTTP
            prepared = self.gateway.prepare(request.query, request.operation_name)
            variables = self.gateway.coerce_variables(prepared, request.variables)
            if prepared.kind == "subscription":
                return self.engine.subscribe(prepared, variables, context)
            return await self.gateway.execute_prepared(prepared, variables, context.headers)
        except RequestError as exc:
            raise OperationError(exc.errors) from exc
