"""Limits and timeouts of the real-time transports, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ..config import env_float, env_int


@dataclass(frozen=True, slots=True)
class SubscriptionSettings:
    """Client-facing limits (WebSocket and SSE) and upstream subscription timeouts."""

    # Concurrent client connections (WebSocket and SSE streams together); beyond it: refused.
    max_connections: int = 1000
    # Concurrent operations on one WebSocket connection; beyond it: an error for that operation.
    max_subscriptions_per_connection: int = 100
    # graphql-transport-ws: close with 4408 when no connection_init arrives in this time.
    connection_init_timeout: float = 10.0
    # Legacy graphql-ws keep-alive ("ka") interval; 0 disables.
    keepalive_interval: float = 15.0
    # Upstream WebSocket: time to connect and be acknowledged.
    upstream_connect_timeout: float = 10.0
    # Events buffered per client before a slow client is cut off.
    max_pending_events: int = 1000
    # SSE: comment lines sent while idle so proxies keep the stream open; 0 disables.
    sse_keepalive_interval: float = 15.0
    # SSE resumption (gateway.subscriptions.resume): the payload field whose value is each event's
    # `id:`, and the root field argument `Last-Event-ID` sets; empty disables.
    sse_event_id_field: str = "eventId"
    sse_cursor_argument: str = "after"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SubscriptionSettings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            max_connections=env_int(env, "GATEWAY_MAX_WS_CONNECTIONS", defaults.max_connections),
            max_subscriptions_per_connection=env_int(
                env, "GATEWAY_MAX_SUBSCRIPTIONS_PER_CONNECTION", defaults.max_subscriptions_per_connection
            ),
            connection_init_timeout=env_float(
                env, "GATEWAY_WS_CONNECTION_INIT_TIMEOUT", defaults.connection_init_timeout
            ),
            keepalive_interval=env_float(env, "GATEWAY_WS_KEEPALIVE_INTERVAL", defaults.keepalive_interval),
            upstream_connect_timeout=env_float(
                env, "GATEWAY_UPSTREAM_WS_CONNECT_TIMEOUT", defaults.upstream_connect_timeout
            ),
            max_pending_events=env_int(env, "GATEWAY_MAX_PENDING_EVENTS", defaults.max_pending_events),
            sse_keepalive_interval=env_float(env, "GATEWAY_SSE_KEEPALIVE_INTERVAL", defaults.sse_keepalive_interval),
            sse_event_id_field=env.get("GATEWAY_SSE_EVENT_ID_FIELD", defaults.sse_event_id_field).strip(),
            sse_cursor_argument=env.get("GATEWAY_SSE_CURSOR_ARGUMENT", defaults.sse_cursor_argument).strip(),
        )

    def with_changes(self, **changes: object) -> SubscriptionSettings:
        return replace(self, **changes)  # type: ignore[arg-type]
