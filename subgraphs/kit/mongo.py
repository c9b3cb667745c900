"""One MongoDB database per service, through one client factory.

A real server (MONGODB_URL, or the private wire-protocol server the runtime starts) is reached with
motor (`MONGODB_DRIVER=motor`, the default) or PyMongo's own `AsyncMongoClient` (`pymongo`), motor's
successor; the code runs on both, and the few calls that differ go through the helpers below.
The in-memory fake (mongomock-motor) is only for where no server can start.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from subgraphs.kit.settings import Settings

log = logging.getLogger(__name__)

# motor, PyMongo's async client and mongomock-motor expose the same async collection API; typed loosely.
Database = Any
DRIVERS = ("motor", "pymongo")


def connect_url(url: str, database: str, driver: str = "motor", service: str | None = None) -> tuple[Any, Database]:
    """Return (client, database) on a real server (its commands timed for `service`'s metrics)."""
    options: dict[str, Any] = {"tz_aware": True, "serverSelectionTimeoutMS": 5000}
    if service:
        from subgraphs.kit.metrics import MongoCommandMetrics

        options["event_listeners"] = [MongoCommandMetrics(service)]
    client: Any
    if driver == "pymongo":
        from pymongo import AsyncMongoClient

        client = AsyncMongoClient(url, **options)
    elif driver == "motor":
        from motor.motor_asyncio import AsyncIOMotorClient

        client = AsyncIOMotorClient(url, **options)
    else:
        raise ValueError(f"MONGODB_DRIVER must be one of {', '.join(DRIVERS)}, not {driver!r}")
    return client, client[database]


def connect_memory(database: str) -> tuple[Any, Database]:
    from mongomock_motor import AsyncMongoMockClient

    client: Any = AsyncMongoMockClient(tz_aware=True)
    return client, client[database]


def connect_mongo(settings: Settings, url: str | None = None) -> tuple[Any, Database]:
    """Return (client, database) for this service: at `url` (else MONGODB_URL), else in memory."""
    url = url or settings.mongodb_url
    if url:
        log.info("MongoDB at %s, database %r (driver %s)", redact(url), settings.mongodb_database,
                 settings.mongodb_driver)
        return connect_url(url, settings.mongodb_database, settings.mongodb_driver, settings.service)
    log.warning("%s runs on the in-memory MongoDB fake (mongomock-motor): no MONGODB_URL and no "
                "wire-protocol server could be started; data is lost on exit", settings.service)
    return connect_memory(settings.mongodb_database)


async def close_client(client: Any) -> None:
    """motor's and mongomock's close() is plain, PyMongo's async client's is awaitable."""
    result = client.close()
    if inspect.isawaitable(result):
        await result


async def aggregate(collection: Any, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run a pipeline on either driver (PyMongo's async `aggregate()` must be awaited for its cursor)."""
    cursor = collection.aggregate(pipeline)
    if inspect.isawaitable(cursor):
        cursor = await cursor
    return [document async for document in cursor]


async def ping(database: Database) -> bool:
    try:
        await database.command("ping")
        return True
    except Exception:  # a readiness probe reports, it does not raise
        return False


def redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
