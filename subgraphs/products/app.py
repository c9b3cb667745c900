"""`create_app()`: the products service as an ASGI app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from subgraphs.kit.app import create_service_app
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from subgraphs.products import metrics
from subgraphs.products.config import ProductsConfig
from subgraphs.products.schema import build_schema
from subgraphs.products.schema.context import ProductsContext
from subgraphs.products.service import ProductsService

SERVICE = "products"


def create_app(settings: Settings | None = None, config: ProductsConfig | None = None) -> Starlette:
    """The app; its products service is `app.state.products` (started with the app's lifespan)."""
    settings = settings or Settings.from_env(SERVICE)
    runtime = ServiceRuntime(settings)
    config = config or ProductsConfig.from_env()
    service = ProductsService(runtime, config)

    def context(runtime: ServiceRuntime, request: Request | WebSocket,
                response: Response | WebSocket | None) -> ProductsContext:
        return ProductsContext(runtime, request, response, service=service)

    app = create_service_app(runtime, build_schema(config), context_factory=context, on_startup=[service.start],
                             on_shutdown=[service.stop], metrics_sources=metrics.sources(service))
    app.state.products = service
    return app
