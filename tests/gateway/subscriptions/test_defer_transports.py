"""@defer over the real-time transports: the primary part and each deferred part are one `next`
payload each (graphql-transport-ws, graphql-ws, SSE), then `complete`."""

from __future__ import annotations

import httpx

from .support import LEGACY_WS, federated_stack, init, open_ws, recv, recv_skipping, send
from .test_sse import SSE, read_events

QUERY = 'query { order(id: "o2") { number ... @defer(label: "pay") { payments { status } } } }'
PRIMARY = {"data": {"order": {"number": "A-1002"}}, "hasNext": True}
DEFERRED = {
    "incremental": [
        {"data": {"payments": [{"status": "DECLINED"}, {"status": "CAPTURED"}]}, "path": ["order"], "label": "pay"}
    ],
    "hasNext": False,
}


async def test_each_part_is_one_next_message_over_graphql_transport_ws() -> None:
    async with federated_stack() as stack, await open_ws(stack.ws_url) as ws:
        await init(ws)
        await send(ws, {"id": "d", "type": "subscribe", "payload": {"query": QUERY}})
        assert await recv(ws) == {"id": "d", "type": "next", "payload": PRIMARY}
        assert await recv(ws) == {"id": "d", "type": "next", "payload": DEFERRED}
        assert await recv(ws) == {"id": "d", "type": "complete"}


async def test_each_part_is_one_data_message_over_graphql_ws() -> None:
    async with federated_stack() as stack, await open_ws(stack.ws_url, LEGACY_WS) as ws:
        await send(ws, {"type": "connection_init", "payload": {}})
        assert (await recv(ws))["type"] == "connection_ack"
        await send(ws, {"id": "d", "type": "start", "payload": {"query": QUERY}})
        messages = [await recv_skipping(ws, "ka") for _ in range(3)]
        assert messages == [
            {"id": "d", "type": "data", "payload": PRIMARY},
            {"id": "d", "type": "data", "payload": DEFERRED},
            {"id": "d", "type": "complete"},
        ]


async def test_each_part_is_one_next_event_over_sse() -> None:
    async with federated_stack() as stack, httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", stack.graphql_url, json={"query": QUERY}, headers=SSE) as response:
            events = await read_events(response)
        assert events == [("next", PRIMARY), ("next", DEFERRED), ("complete", None)]
