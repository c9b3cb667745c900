"""Client real-time transports and federated subscriptions.

Transports at the GraphQL endpoint: WebSocket with `graphql-transport-ws` and the legacy
`graphql-ws` subprotocol, and GraphQL over SSE (distinct connections mode). Subscriptions run
as shared upstream graphql-transport-ws subscriptions whose events are completed through the
core planner and executor. Start from :class:`Realtime` and :class:`RealtimeMiddleware`.
"""

from .executor import EventStream, ExecutionResult, OperationError, OperationExecutor
from .hub import SubscriptionHub
from .mount import RealtimeMiddleware
from .realtime import Realtime, with_realtime
from .request import ClientContext, GraphQLRequest
from .settings import SubscriptionSettings

__all__ = [
    "ClientContext",
    "EventStream",
    "ExecutionResult",
    "GraphQLRequest",
    "OperationError",
    "OperationExecutor",
    "Realtime",
    "RealtimeMiddleware",
    "SubscriptionHub",
    "SubscriptionSettings",
    "with_realtime",
]
