"""The GraphiQL explorer, served by the gateway from locally installed npm assets.

`graphiql_routes(assets_dir)` gives Starlette routes for `/graphiql` (the page) and
`/graphiql/assets/...` (the files). The GraphQL endpoint itself shows the page to browsers:
call :func:`wants_html` on a GET and answer with :meth:`GraphiQL.page`. When the assets are not
installed the page explains how to install them (HTTP 503), never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from ..request import accepts
from .assets import OWN_SCRIPTS, SERVED, STATIC_DIR, missing_assets, node_modules
from .examples import DEFAULT_EXAMPLES_DIR, Example, load_examples
from .page import build_explorer_html, build_setup_html

__all__ = [
    "DEFAULT_EXAMPLES_DIR",
    "Example",
    "GraphiQL",
    "build_explorer_html",
    "build_setup_html",
    "graphiql_routes",
    "load_examples",
    "wants_html",
]


def wants_html(request: Request) -> bool:
    """A browser navigating to the endpoint (GET without a query, Accept naming text/html)."""
    if request.method not in ("GET", "HEAD") or "query" in request.query_params:
        return False
    return accepts(request.headers.get("accept", ""), "text/html")


class GraphiQL:
    def __init__(
        self,
        assets_dir: str | Path,
        *,
        endpoint: str = "/graphql",
        prefix: str = "/graphiql",
        examples_dir: str | Path | None = None,
        title: str = "GraphiQL",
        default_headers: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.assets_dir = Path(assets_dir)
        self.endpoint = endpoint
        self.prefix = prefix.rstrip("/")
        self.examples: list[Example] = load_examples(Path(examples_dir) if examples_dir else None)
        self.title = title
        # called per page load: a development token is minted fresh each time
        self.default_headers = default_headers

    @property
    def assets_prefix(self) -> str:
        return f"{self.prefix}/assets"

    def html(self) -> tuple[int, str]:
        missing = missing_assets(self.assets_dir)
        if missing:
            return 503, build_setup_html(missing, str(self.assets_dir))
        page = build_explorer_html(
            endpoint=self.endpoint, assets_prefix=self.assets_prefix, examples=self.examples, title=self.title,
            default_headers=self.default_headers() if self.default_headers else None,
        )
        return 200, page

    async def page(self, request: Request) -> Response:
        status, body = self.html()
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-cache"})

    async def asset(self, request: Request) -> Response:
        name = str(request.path_params.get("path", ""))
        if name in SERVED:
            path = node_modules(self.assets_dir) / name
        elif name in OWN_SCRIPTS:
            path = STATIC_DIR / name
        else:
            return PlainTextResponse("Not Found", status_code=404)
        if not path.is_file():
            return PlainTextResponse(f"{name} is not installed: run `make setup`", status_code=404)
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    def routes(self) -> list[Route | Mount]:
        return [
            Route(self.prefix, self.page, methods=["GET", "HEAD"]),
            Route(self.assets_prefix + "/{path:path}", self.asset, methods=["GET", "HEAD"]),
        ]


def graphiql_routes(
    assets_dir: str | Path,
    *,
    endpoint: str = "/graphql",
    prefix: str = "/graphiql",
    examples_dir: str | Path | None = None,
) -> list[Route | Mount]:
    """Routes for the explorer page (`prefix`) and its assets (`prefix`/assets/...)."""
    return GraphiQL(assets_dir, endpoint=endpoint, prefix=prefix, examples_dir=examples_dir).routes()
