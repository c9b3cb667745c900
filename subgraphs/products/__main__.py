"""`python -m subgraphs.products [serve]` runs the service; `... seed` loads the demo catalog."""

from __future__ import annotations

import argparse
import asyncio
import logging

from subgraphs.kit.logs import configure_logging
from subgraphs.kit.mongo import close_client, connect_mongo
from subgraphs.kit.serve import run_service
from subgraphs.kit.settings import Settings
from subgraphs.products.app import SERVICE, create_app
from subgraphs.products.demo import demo_documents, seed
from subgraphs.products.store import CatalogStore


async def _seed(settings: Settings) -> int:
    client, db = connect_mongo(settings)
    try:
        store = CatalogStore(db)
        await store.ensure_indexes()
        return await seed(store)
    finally:
        await close_client(client)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subgraphs.products")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "seed"])
    args = parser.parse_args(argv)
    settings = Settings.from_env(SERVICE)
    if args.command == "seed":
        configure_logging(SERVICE, settings.log_level, settings.log_json)
        if settings.embedded_mongo:
            logging.getLogger(SERVICE).error("MONGODB_URL is not set: there is no database to seed "
                                             "(the in-memory one seeds itself at start-up)")
            return 2
        inserted = asyncio.run(_seed(settings))
        print(f"demo catalog: {inserted} of {len(demo_documents())} products inserted "
              f"into {settings.mongodb_database!r}")
        return 0
    run_service(settings, create_app(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
