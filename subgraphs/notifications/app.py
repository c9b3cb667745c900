"""`create_app`: the notifications service as an ASGI app (GraphQL, health, the event consumer, and in
embedded mode the delivery worker)."""

from __future__ import annotations

from starlette.applications import Starlette

from subgraphs.kit.app import create_service_app
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from subgraphs.notifications import metrics
from subgraphs.notifications.config import NotificationConfig
from subgraphs.notifications.model import QUEUE_NAME
from subgraphs.notifications.schema import build_schema
from subgraphs.notifications.schema.context import context_factory
from subgraphs.notifications.service import NotificationService


def create_app(settings: Settings | None = None, config: NotificationConfig | None = None) -> Starlette:
    settings = settings or Settings.from_env("notifications")
    config = config or NotificationConfig.from_env()
    runtime = ServiceRuntime(settings)
    service = NotificationService(runtime, config)
    app = create_service_app(
        runtime,
        build_schema(),
        context_factory=context_factory(service),
        on_startup=[service.start],
        on_shutdown=[service.stop],
        metrics_sources=metrics.sources(service),
        queues=[QUEUE_NAME],
    )
    app.state.notifications = service
    return app
