"""A tiny WorkerSettings for the standalone worker-process test: one job that writes a Redis key."""

from __future__ import annotations

import os
from typing import Any

from subgraphs.kit.queue import redis_settings


async def mark(ctx: dict[str, Any], key: str) -> str:
    await ctx["redis"].set(key, f"done:{ctx['started_by']}")
    return key


async def startup(ctx: dict[str, Any]) -> None:
    ctx["started_by"] = os.getpid()


class WorkerSettings:
    functions = [mark]
    queue_name = "sample-worker-test"
    redis_settings = redis_settings(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    on_startup = startup
    poll_delay = 0.05
