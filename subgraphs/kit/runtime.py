"""The process-wide resources of one service: settings, its Mongo database and its Redis."""

from __future__ import annotations

import logging
from typing import Any

import redis.asyncio as aioredis

from subgraphs.kit import embedded_mongo, mongo, redis_client
from subgraphs.kit.embedded_mongo import EmbeddedMongo
from subgraphs.kit.embedded_redis import EmbeddedRedis
from subgraphs.kit.mongo import Database
from subgraphs.kit.settings import Settings

log = logging.getLogger(__name__)


class ServiceRuntime:
    """Opened once per process by the app's lifespan (or by a test), closed on shutdown.

    With no REDIS_URL a private redis-server is started and owned by this runtime; with no
    MONGODB_URL, a private MongoDB wire-protocol server (in memory), else the in-memory fake.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedded_redis: EmbeddedRedis | None = None
        self._embedded_mongo: EmbeddedMongo | None = None
        self._mongo_client: Any = None
        self._db: Database | None = None
        self._redis: aioredis.Redis | None = None
        self.redis_url: str | None = settings.redis_url

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the service runtime is not started")
        return self._db

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("the service runtime is not started")
        return self._redis

    async def start(self) -> None:
        if self._db is not None:
            return
        if self.redis_url is None:
            self._embedded_redis = EmbeddedRedis().start()
            self.redis_url = self._embedded_redis.url
            log.warning("REDIS_URL is not set: %s uses a private redis-server at %s",
                        self.settings.service, self.redis_url)
        self._redis = redis_client.connect_redis(self.redis_url)
        self._mongo_client, self._db = mongo.connect_mongo(self.settings, self._private_mongo_url())

    def _private_mongo_url(self) -> str | None:
        if self.settings.mongodb_url or not self.settings.mongodb_embedded:
            return None
        reason = embedded_mongo.unavailable_reason()
        if reason is not None:
            log.warning("no private MongoDB server for %s: %s", self.settings.service, reason)
            return None
        self._embedded_mongo = EmbeddedMongo().start()
        log.warning("MONGODB_URL is not set: %s uses a private MongoDB wire-protocol server at %s; data is lost "
                    "on exit", self.settings.service, self._embedded_mongo.url)
        return self._embedded_mongo.url

    async def stop(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        if self._mongo_client is not None:
            await mongo.close_client(self._mongo_client)
            self._mongo_client = None
            self._db = None
        if self._embedded_mongo is not None:
            self._embedded_mongo.stop()
            self._embedded_mongo = None
        if self._embedded_redis is not None:
            self._embedded_redis.stop()
            self._embedded_redis = None

    async def readiness(self) -> dict[str, bool]:
        return {
            "mongo": self._db is not None and await mongo.ping(self._db),
            "redis": self._redis is not None and await redis_client.ping(self._redis),
        }
