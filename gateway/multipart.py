"""Incremental delivery over HTTP: `multipart/mixed` responses in the 2022-08-24 defer format.

Byte for byte what @apollo/server writes: the content type `multipart/mixed; boundary="-";
deferSpec=20220824`, a leading CRLF and boundary, then one `application/json` part per payload,
each closed by the boundary (`---`), the last by the closing one (`-----`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, MutableMapping
from typing import Any

import orjson

log = logging.getLogger("gateway.multipart")

MULTIPART_MIXED = "multipart/mixed"
CONTENT_TYPE = 'multipart/mixed; boundary="-"; deferSpec=20220824'
_PART_HEAD = b"content-type: application/json; charset=utf-8\r\n\r\n"

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


def accepts_multipart(accept: str | None) -> bool:
    """Whether the client takes `multipart/mixed` (Apollo's clients send `multipart/mixed;
    deferSpec=20220824, application/json`); other incremental formats are not served."""
    if not accept:
        return False
    return any(part.split(";")[0].strip() == MULTIPART_MIXED for part in accept.lower().split(","))


def encode_part(payload: dict[str, Any], first: bool) -> bytes:
    closing = b"---\r\n" if payload.get("hasNext") else b"-----\r\n"
    head = b"\r\n---\r\n" if first else b""
    return head + _PART_HEAD + orjson.dumps(payload) + b"\r\n" + closing


async def send_multipart(
    send: Send,
    receive: Receive | None,
    payloads: AsyncGenerator[dict[str, Any], None],
    extra: list[tuple[bytes, bytes]],
) -> None:
    """Stream `payloads` as one multipart response, each part flushed as soon as it is ready; a client
    that goes away stops the stream (the deferred parts still running are cancelled)."""
    headers = [(b"content-type", CONTENT_TYPE.encode()), *extra]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    gone = asyncio.ensure_future(_disconnected(receive))
    first = True
    last_has_next = True
    try:
        while last_has_next:
            step = asyncio.ensure_future(payloads.__anext__())
            await asyncio.wait((step, gone), return_when=asyncio.FIRST_COMPLETED)
            if not step.done():  # the client left: nobody reads the rest
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await step
                return
            try:
                payload = step.result()
            except StopAsyncIteration:
                break
            last_has_next = bool(payload.get("hasNext"))
            await send({"type": "http.response.body", "body": encode_part(payload, first), "more_body": True})
            first = False
    except Exception:  # the status is sent: end the stream with a final part rather than a broken body
        log.exception("incremental delivery failed")
        if last_has_next:
            error = {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
            body = encode_part({"hasNext": False, "errors": [error]}, first)
            await send({"type": "http.response.body", "body": body, "more_body": True})
    finally:
        gone.cancel()
        await payloads.aclose()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive | None) -> None:
    if receive is None:  # nothing tells: wait for the end of the stream
        await asyncio.Event().wait()
    else:
        while (await receive())["type"] != "http.disconnect":
            pass
