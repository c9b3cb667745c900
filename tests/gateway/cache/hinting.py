"""Test subgraphs that send cache hints: any harness subgraph behind a layer that adds a
`Cache-Control` header and, when asked, a `Cache-Tag` header and `extensions` to its responses,
chosen per request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from tests.support.asgi import read_body

Payload = dict[str, Any]


def hinting(
    app: Any,
    cache_control: Callable[[Payload], str | None],
    extensions: Callable[[Payload], dict[str, Any] | None] = lambda _payload: None,
    cache_tag: Callable[[Payload], str | None] = lambda _payload: None,
) -> Any:
    """`app` answering with `cache_control(request payload)` as its Cache-Control (None: no header),
    `cache_tag(request payload)` as its Cache-Tag, and `extensions(request payload)` merged into its
    JSON response."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = await read_body(receive)
        payload = orjson.loads(body)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: dict[str, Any] = {}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            out = message["body"]
            extra = extensions(payload)
            if extra:
                response = orjson.loads(out)
                response["extensions"] = {**response.get("extensions", {}), **extra}
                out = orjson.dumps(response)
            headers = [(k, v) for k, v in start["headers"] if k.lower() not in (b"content-length", b"cache-control")]
            header = cache_control(payload)
            if header is not None:
                headers.append((b"cache-control", header.encode()))
            tags = cache_tag(payload)
            if tags is not None:
                headers.append((b"cache-tag", tags.encode()))
            headers.append((b"content-length", str(len(out)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": out})

        await app(scope, replay, capture)

    return wrapped
