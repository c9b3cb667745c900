"""The WebSocket endpoint: pick the session class by the offered subprotocol, enforce the cap."""

from __future__ import annotations

from starlette.websockets import WebSocket

from .. import metrics
from .executor import OperationExecutor
from .legacy_ws import LegacyWsSession
from .limits import ConnectionLimiter
from .session import WebSocketSession
from .settings import SubscriptionSettings
from .transport_ws import TransportWsSession

SESSIONS: dict[str, type[WebSocketSession]] = {
    TransportWsSession.subprotocol: TransportWsSession,
    LegacyWsSession.subprotocol: LegacyWsSession,
}


def session_class(offered: list[str]) -> type[WebSocketSession] | None:
    """The first subprotocol we speak in the client's order of preference."""
    for name in offered:
        if name in SESSIONS:
            return SESSIONS[name]
    return None


async def serve_websocket(
    websocket: WebSocket,
    executor: OperationExecutor,
    settings: SubscriptionSettings,
    limiter: ConnectionLimiter,
    max_message_bytes: int = 0,
) -> None:
    cls = session_class(list(websocket.scope.get("subprotocols") or ()))
    if cls is None:
        await websocket.accept()
        await websocket.close(4406, "Subprotocol not acceptable: use graphql-transport-ws or graphql-ws")
        return
    if not limiter.try_acquire():
        metrics.count_refusal("limit")
        await websocket.accept(subprotocol=cls.subprotocol)
        # 1013 "Try Again Later": clients treat it as retryable.
        await websocket.close(1013, limiter.refusal()[:123])
        return
    try:
        await cls(websocket, executor, settings, max_message_bytes).serve()
    finally:
        limiter.release()
