"""Small ASGI helpers for the test servers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """The whole body of an HTTP request, from its `http.request` messages."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body
