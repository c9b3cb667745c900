"""Serving ASGI apps on free loopback ports inside the test's event loop, and polling helpers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import uvicorn

from subgraphs.kit.embedded_redis import free_port

T = TypeVar("T")


async def wait_for(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"
) -> T:
    """Poll `probe` until it returns a truthy value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)


@asynccontextmanager
async def serve_asgi(app: Any, port: int | None = None, http: str = "auto") -> AsyncIterator[str]:
    """Run `app` with uvicorn (lifespan on) on 127.0.0.1; yields its base URL. `http`: uvicorn's HTTP
    protocol (the gateway's tests give the gateway's own, gateway.http1)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           log_config=None, http=http))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return bool(server.started)

    await wait_for(started, timeout=15, message=f"server on port {port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
