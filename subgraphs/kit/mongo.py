"""One MongoDB database per service: a real server through motor, or in-memory with mongomock-motor."""

from __future__ import annotations

import logging
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient

from subgraphs.kit.settings import Settings

log = logging.getLogger(__name__)

# motor and mongomock-motor expose the same async collection API; typed loosely on purpose.
Database = Any


def connect_mongo(settings: Settings) -> tuple[Any, Database]:
    """Return (client, database) for this service."""
    if settings.mongodb_url:
        client: Any = AsyncIOMotorClient(settings.mongodb_url, tz_aware=True, serverSelectionTimeoutMS=5000)
        log.info("MongoDB at %s, database %r", _redact(settings.mongodb_url), settings.mongodb_database)
    else:
        from mongomock_motor import AsyncMongoMockClient

        client = AsyncMongoMockClient(tz_aware=True)
        log.warning(
            "MONGODB_URL is not set: %s runs on an in-memory MongoDB (mongomock-motor); data is lost on exit",
            settings.service,
        )
    return client, client[settings.mongodb_database]


async def ping(database: Database) -> bool:
    try:
        await database.command("ping")
        return True
    except Exception:  # a readiness probe reports, it does not raise
        return False


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
