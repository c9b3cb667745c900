"""Every explorer example runs as it is, against the dev stack with its seeded demo catalog: the
page's tabs (queries, variables, and the development token the gateway prefills) are sent as the
explorer sends them (HTTP POST; subscriptions and @defer over graphql-transport-ws), and no answer
has an error. The token's email reaches notifications: the order gets an email notification."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from authn import DEV_JWT_SECRET
from gateway.auth import make_dev_token
from gateway.graphiql.assets import SERVED
from gateway.graphiql.dev_token import EXPLORER_EMAIL
from scripts.stack import Stack
from tests.gateway.subscriptions.test_sse_resume import read_numbered
from tests.support.servers import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    assets = tmp_path_factory.mktemp("graphiql")
    for name in SERVED:  # the page's own files are not under test: stand-ins so it is served
        target = assets / "node_modules" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"/* {name} */")
    logs = tmp_path_factory.mktemp("stack-logs")
    mail = logs / "mail"
    running = Stack.on_free_ports(env={"GRAPHIQL_ASSETS_DIR": str(assets), "NOTIFICATIONS_MAILDIR": str(mail)},
                                  log_dir=logs)
    try:
        running.start()
    except RuntimeError as exc:
        pytest.fail(f"the stack did not start: {exc}")
    yield running
    running.stop()


def page_tabs(html: str) -> list[dict[str, str]]:
    match = re.search(r'<script id="graphiql-config" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the explorer page carries its configuration"
    tabs = json.loads(match.group(1))["tabs"]
    assert isinstance(tabs, list) and tabs
    return tabs


async def over_websocket(url: str, tab: dict[str, Any], headers: dict[str, str], *, first_only: bool) -> list[Any]:
    """The payloads of one operation over graphql-transport-ws, as the explorer's fetcher sends it."""
    payloads: list[Any] = []
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10, proxy=None) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
        async with asyncio.timeout(30):
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            payload = {"query": tab["query"], "variables": json.loads(tab.get("variables") or "{}")}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            while True:
                message = json.loads(await ws.recv())
                if message["type"] in ("complete",):
                    break
                assert message["type"] == "next", message
                payloads.append(message["payload"])
                if first_only:
                    await ws.send(json.dumps({"id": "1", "type": "complete"}))
                    break
    return payloads


async def run_tab(client: httpx.AsyncClient, ws_url: str, tab: dict[str, Any]) -> list[Any]:
    headers = json.loads(tab.get("headers") or "{}")
    query = tab["query"]
    if re.search(r"^\s*subscription\b", query, re.M):
        return await over_websocket(ws_url, tab, headers, first_only=True)
    if "@defer" in query:
        return await over_websocket(ws_url, tab, headers, first_only=False)
    body = {"query": query, "variables": json.loads(tab.get("variables") or "{}")}
    response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return [response.json()]


async def test_every_example_runs_without_errors(stack: Stack) -> None:
    base = stack.url("gateway")
    ws_url = base.replace("http://", "ws://") + "/graphql"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        root = await client.get("/", follow_redirects=False)
        assert root.status_code == 302 and root.headers["location"] == "/graphiql"
        page = await client.get("/", follow_redirects=True)
        assert page.status_code == 200
        tabs = page_tabs(page.text)
        assert all(json.loads(tab["headers"])["Authorization"].startswith("Bearer ") for tab in tabs)
        answers: dict[str, list[Any]] = {}
        for tab in tabs:
            name = re.search(r"^(query|mutation|subscription)\s+(\w+)", tab["query"], re.M)
            assert name, tab["query"]
            payloads = await run_tab(client, ws_url, tab)
            assert payloads, name.group(2)
            for payload in payloads:
                assert "errors" not in payload, (name.group(2), payload)
            answers[name.group(2)] = payloads

    # the data the examples name exists in the demo catalog and the order they create
    assert answers["BrowseProducts"][0]["data"]["products"]["edges"]
    assert answers["ProductById"][0]["data"]["product"]["name"] == "Canyon T-Shirt"
    assert answers["MyCart"][0]["data"]["me"]["id"] == "alice"
    placed = answers["PlaceOrder"][0]["data"]["placeOrder"]
    assert placed["__typename"] == "OrderPlaced", placed
    order_id = placed["order"]["id"]
    assert answers["OrderStatus"][0]["data"]["orderStatusChanged"]["order"]["id"] == order_id
    assert answers["OrderPage"][0]["data"]["order"]["id"] == order_id

    # the explorer token's email reached notifications: the order's email notification
    order_page = next(t for t in tabs if "query OrderPage" in t["query"])

    async def emailed() -> bool:
        payloads = await over_websocket(ws_url, order_page, json.loads(order_page["headers"]), first_only=False)
        return any(n["channel"] == "EMAIL" for p in payloads for n in _notifications(p))

    await wait_for(emailed, timeout=60, interval=0.5, message="an email notification of the order")

    def mailed() -> bool:
        mails = [path for path in Path(stack.env["NOTIFICATIONS_MAILDIR"]).rglob("*") if path.is_file()]
        return any(f"To: {EXPLORER_EMAIL}" in path.read_text(errors="replace") for path in mails)

    async def in_the_maildir() -> bool:
        return await asyncio.to_thread(mailed)

    await wait_for(in_the_maildir, timeout=60, interval=0.5, message=f"the email to {EXPLORER_EMAIL}")


def _notifications(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The notifications in a primary payload or an incremental (@defer) one."""
    found: list[dict[str, Any]] = []
    order = (payload.get("data") or {}).get("order") or {}
    found += order.get("notifications") or []
    for part in payload.get("incremental") or []:
        found += (part.get("data") or {}).get("notifications") or []
    return found


async def test_order_status_over_sse_resumes_after_last_event_id(stack: Stack) -> None:
    """The orders subgraph follows the SSE resumption convention: eventId out, `after` in."""
    token = make_dev_token("sse-shopper", (), 600, DEV_JWT_SECRET)
    auth = {"Authorization": f"Bearer {token}"}
    place = ("mutation($input: PlaceOrderInput!) { placeOrder(input: $input, idempotencyKey: \"sse-1\") "
             "{ __typename ... on OrderPlaced { order { id } } } }")
    lines = [{"sku": "CTSA-000-05", "quantity": 1}]
    variables = {"input": {"lines": lines, "payment": {"provider": "CARD", "token": "pm_card_visa"}}}
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30) as client:
        placed = (await client.post("/graphql", json={"query": place, "variables": variables}, headers=auth)).json()
        order_id = placed["data"]["placeOrder"]["order"]["id"]

        async def paid() -> bool:
            query = {"query": f'{{ order(id: "{order_id}") {{ status }} }}'}
            return (await client.post("/graphql", json=query, headers=auth)).json()["data"]["order"]["status"] == "PAID"

        await wait_for(paid, timeout=60, interval=0.2, message="the order to be paid")
        params = {"query": f'subscription {{ orderStatusChanged(orderId: "{order_id}") {{ eventId status }} }}'}
        sse = {**auth, "Accept": "text/event-stream"}
        async with client.stream("GET", "/graphql", params=params, headers=sse) as response:
            current = await read_numbered(response, 1)
        async with client.stream("GET", "/graphql", params=params, headers={**sse, "Last-Event-ID": "0"}) as response:
            from_start = await read_numbered(response, 2)
        async with client.stream("GET", "/graphql", params=params, headers={**sse, "Last-Event-ID": "1"}) as response:
            after_first = await read_numbered(response, 1)

    def event(event_id: str, status: str) -> tuple[str, str, dict[str, Any]]:
        return event_id, "next", {"data": {"orderStatusChanged": {"eventId": event_id, "status": status}}}

    # without a cursor: the current status; after an id: every change after it, and only those
    assert current == [event("2", "PAID")]
    assert from_start == [event("1", "AWAITING_PAYMENT"), event("2", "PAID")]
    assert after_first == [event("2", "PAID")]
