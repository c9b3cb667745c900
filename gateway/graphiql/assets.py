"""The npm files the explorer page loads, relative to `<assets_dir>/node_modules`.

Only these are served: the install prefix holds a whole node_modules tree that has no business
being reachable over HTTP.
"""

from __future__ import annotations

from pathlib import Path

STYLESHEETS: tuple[str, ...] = ("graphiql/graphiql.min.css",)
SCRIPTS: tuple[str, ...] = (
    "react/umd/react.production.min.js",
    "react-dom/umd/react-dom.production.min.js",
    "graphql-ws/umd/graphql-ws.min.js",
    "graphiql/graphiql.min.js",
)
SERVED: frozenset[str] = frozenset(STYLESHEETS + SCRIPTS)

STATIC_DIR = Path(__file__).resolve().parent / "static"
OWN_SCRIPTS: tuple[str, ...] = ("explorer.js",)


def node_modules(assets_dir: Path) -> Path:
    return assets_dir / "node_modules"


def missing_assets(assets_dir: Path) -> list[str]:
    """The files the page needs that are not installed (empty when the explorer can be served)."""
    root = node_modules(assets_dir)
    return [name for name in sorted(SERVED) if not (root / name).is_file()]
