"""Keeps the in-process tier (:mod:`.local`) fresh: a subscription to the invalidations channel.

Each message names the dependencies an invalidation bumped (a JSON list, :mod:`.tags`). The tier is
live only while the subscription is known to work: the listener pings Redis every `HEARTBEAT_SECONDS`
when the channel is quiet, and a connection that gives no answer for `DEAD_AFTER_SECONDS` (or fails)
clears and bypasses the tier until a new subscription is confirmed. So a Redis that hangs leaves local
entries in service for at most that long, and one that is down leaves none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from .local import LocalResponses

log = logging.getLogger("gateway.cache")

HEARTBEAT_SECONDS = 1.0
DEAD_AFTER_SECONDS = 3.0
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0)


def invalidations_channel(prefix: str) -> str:
    return f"{prefix}invalidated"


def parse_message(data: Any) -> list[str] | None:
    """The dependencies one message names; None when it is not a list of names (then every entry goes)."""
    try:
        names = orjson.loads(data)
    except (orjson.JSONDecodeError, TypeError):
        return None
    if isinstance(names, list) and all(isinstance(name, str) for name in names):
        return names
    return None


class InvalidationListener:
    def __init__(self, redis_url: str, prefix: str, local: LocalResponses, timeout_seconds: float) -> None:
        self.redis_url = redis_url
        self.channel = invalidations_channel(prefix)
        self.local = local
        self.timeout = timeout_seconds
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gateway-cache-listener")

    async def wait_subscribed(self, timeout: float) -> bool:
        """Whether the tier went live within `timeout` seconds (start-up waits briefly, never fails)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        return self._subscribed.is_set()

    async def _run(self) -> None:
        failures = 0  # in a row, without a subscription between them: logged once, retried ever slower
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._subscribed.is_set():  # it worked until now: a new outage
                    failures = 0
                if failures == 0:
                    log.warning("gateway cache: the invalidation subscription failed (%s); the in-process tier "
                                "is off until it is back", exc or type(exc).__name__)
            self._subscribed.clear()
            self.local.reset(live=False)
            await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            failures += 1

    async def _listen(self) -> None:
        client = aioredis.Redis.from_url(self.redis_url, socket_connect_timeout=self.timeout)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            heard = time.monotonic()
            pinged = False
            while True:
                message = await pubsub.get_message(timeout=HEARTBEAT_SECONDS)
                now = time.monotonic()
                if message is None:
                    if now - heard >= DEAD_AFTER_SECONDS:
                        raise ConnectionError(f"no answer from Redis for {DEAD_AFTER_SECONDS:.0f} s")
                    if not pinged:
                        await pubsub.ping()
                        pinged = True
                    continue
                heard, pinged = now, False
                self._handle(message)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            self.local.reset(live=True)  # invalidations before this were missed: start a new session
            self._subscribed.set()
            log.info("gateway cache: the in-process tier is live")
        elif kind == "message":
            names = parse_message(message.get("data"))
            if names is None:
                self.local.reset(live=True)
            else:
                self.local.bump(names)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._subscribed.clear()
        self.local.reset(live=False)
