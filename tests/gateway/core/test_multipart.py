"""The multipart/mixed writer: @apollo/server's bytes, the Accept test, and a client that leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from gateway.multipart import CONTENT_TYPE, accepts_multipart, encode_part, send_multipart

HEAD = b"content-type: application/json; charset=utf-8\r\n\r\n"


def test_parts_are_framed_as_apollo_server_frames_them() -> None:
    assert (
        encode_part({"data": {}, "hasNext": True}, True)
        == b"\r\n---\r\n" + HEAD + b'{"data":{},"hasNext":true}\r\n---\r\n'
    )
    assert encode_part({"hasNext": False}, False) == HEAD + b'{"hasNext":false}\r\n-----\r\n'


def test_accept_names_multipart_mixed() -> None:
    assert accepts_multipart("multipart/mixed; deferSpec=20220824, application/json")
    assert accepts_multipart("application/json, Multipart/Mixed")
    assert not accepts_multipart("application/json")
    assert not accepts_multipart(None)
    assert not accepts_multipart("multipart/form-data")


async def test_the_stream_is_written_part_by_part() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def payloads() -> AsyncGenerator[dict[str, Any], None]:
        yield {"data": {"a": 1}, "hasNext": True}
        yield {"incremental": [{"data": {"b": 2}, "path": []}], "hasNext": False}

    await send_multipart(send, None, payloads(), [])
    assert sent[0] == {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", CONTENT_TYPE.encode())],
    }
    assert [m.get("more_body") for m in sent[1:]] == [True, True, False]
    body = b"".join(m["body"] for m in sent[1:])
    assert body.endswith(b'"hasNext":false}\r\n-----\r\n') and body.count(HEAD) == 2


async def test_a_client_that_leaves_stops_the_stream() -> None:
    first_sent = asyncio.Event()
    closed = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)
        if message.get("body"):
            first_sent.set()

    async def receive() -> dict[str, Any]:
        await first_sent.wait()
        return {"type": "http.disconnect"}

    async def payloads() -> AsyncGenerator[dict[str, Any], None]:
        try:
            yield {"data": {}, "hasNext": True}
            await asyncio.Event().wait()  # a deferred part that never finishes
            yield {"hasNext": False}
        finally:
            closed.set()

    await asyncio.wait_for(send_multipart(send, receive, payloads(), []), timeout=5)
    assert closed.is_set()
    assert len([m for m in sent if m.get("body")]) == 1
