"""`python -m subgraphs.orders`: serve the orders subgraph (default port 4002)."""

from __future__ import annotations

from subgraphs.kit.serve import run_service
from subgraphs.kit.settings import Settings
from subgraphs.orders.app import create_app


def main() -> None:
    settings = Settings.from_env("orders")
    run_service(settings, create_app(settings))


if __name__ == "__main__":
    main()
