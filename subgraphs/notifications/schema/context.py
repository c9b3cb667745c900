"""The request context: the kit's, plus the running NotificationService."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from subgraphs.kit.auth import Viewer
from subgraphs.kit.context import RequestContext
from subgraphs.kit.errors import Forbidden
from subgraphs.kit.runtime import ServiceRuntime

if TYPE_CHECKING:
    from subgraphs.notifications.config import NotificationConfig
    from subgraphs.notifications.service import NotificationService
    from subgraphs.notifications.store import NotificationStore

ADMIN_SCOPE = "notifications:admin"


@dataclass
class NotificationContext(RequestContext):
    service: NotificationService | None = None

    @property
    def store(self) -> NotificationStore:
        if self.service is None:
            raise RuntimeError("the notifications service is not attached to the request context")
        return self.service.store

    @property
    def config(self) -> NotificationConfig:
        if self.service is None:
            raise RuntimeError("the notifications service is not attached to the request context")
        return self.service.config

    def is_admin(self) -> bool:
        viewer = self.require_viewer()
        return viewer.has_scope(ADMIN_SCOPE)

    def require_owner_or_admin(self, user_id: str) -> Viewer:
        """The viewer, if they are `user_id` or hold notifications:admin (else FORBIDDEN)."""
        viewer = self.require_viewer()
        if viewer.user_id != user_id and not viewer.has_scope(ADMIN_SCOPE):
            raise Forbidden("only the user themselves or notifications:admin may read this", requiredScope=ADMIN_SCOPE)
        return viewer


Info = strawberry.Info[NotificationContext, None]


def context_factory(
    service: NotificationService,
) -> Callable[[ServiceRuntime, Request | WebSocket, Response | WebSocket | None], NotificationContext]:
    def make(runtime: ServiceRuntime, request: Request | WebSocket, response: Any) -> NotificationContext:
        return NotificationContext(runtime=runtime, request=request, response=response, service=service)

    return make
