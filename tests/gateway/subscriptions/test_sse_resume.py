"""SSE resumption over real HTTP: `id:` lines from the events' eventId, and a reconnection's
`Last-Event-ID` becoming the subscription's `after` cursor (gateway.subscriptions.resume)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.subscriptions.request import GraphQLRequest
from gateway.subscriptions.resume import SseResumption

from .fixtures import BROKER, JOURNAL, append_journal
from .support import eventually, fake_gateway, federated_stack
from .test_sse import SSE, http_url

JOURNAL_QUERY = "subscription Journal { journal { eventId n } }"


class EventReader:
    """Reads one SSE response in steps: `await reader.next(n)`, the next n events as (id, event, data)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, count: int) -> list[tuple[str | None, str, Any]]:
        return await _read(self.lines, count)


async def read_numbered(response: httpx.Response, count: int) -> list[tuple[str | None, str, Any]]:
    return await EventReader(response).next(count)


async def _read(lines: AsyncIterator[str], count: int) -> list[tuple[str | None, str, Any]]:
    """The next `count` events; keep-alive comments skipped."""
    events: list[tuple[str | None, str, Any]] = []
    event_id: str | None = None
    name: str | None = None
    data: list[str] = []
    async for line in lines:
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            event_id = value
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif line == "" and name:
            body = "\n".join(data)
            events.append((event_id, name, json.loads(body) if body else None))
            if len(events) >= count:
                break
            event_id, name, data = None, None, []
    return events


@pytest.fixture
def journal() -> Iterator[list[int]]:
    JOURNAL.clear()
    yield JOURNAL
    JOURNAL.clear()


async def test_reconnect_with_last_event_id_receives_only_later_events(journal: list[int]) -> None:
    async with federated_stack() as stack, httpx.AsyncClient(timeout=10) as client:
        url = stack.graphql_url
        append_journal(1)
        append_journal(2)
        # a browser EventSource: GET with the operation in the query string
        params = {"query": JOURNAL_QUERY}
        async with client.stream("GET", url, params=params, headers=SSE) as response:
            assert response.status_code == 200
            first = await read_numbered(response, 2)
        assert first == [("1", "next", {"data": {"journal": {"eventId": "1", "n": 1}}}),
                         ("2", "next", {"data": {"journal": {"eventId": "2", "n": 2}}})]
        await eventually(lambda: BROKER.subscribers("journal") == 0, "the upstream closed after the disconnect")
        append_journal(3)  # while the client is away
        async with client.stream("GET", url, params=params, headers={**SSE, "Last-Event-ID": "2"}) as response:
            reader = EventReader(response)
            resumed = await reader.next(1)
            await eventually(lambda: BROKER.subscribers("journal") == 1, "the resumed subscription is live")
            append_journal(4)
            resumed += await reader.next(1)
        assert resumed == [("3", "next", {"data": {"journal": {"eventId": "3", "n": 3}}}),
                           ("4", "next", {"data": {"journal": {"eventId": "4", "n": 4}}})]


async def test_the_cursor_variable_and_an_alias_are_honoured(journal: list[int]) -> None:
    for n in (1, 2, 3):
        append_journal(n)
    query = "subscription J($from: ID) { log: journal(after: $from) { id: eventId n } }"
    async with federated_stack() as stack, httpx.AsyncClient(timeout=10) as client:
        body = {"query": query, "variables": {"from": "1"}}
        headers = {**SSE, "Last-Event-ID": "2"}  # wins over the variable the client sent first
        async with client.stream("POST", stack.graphql_url, json=body, headers=headers) as response:
            events = await read_numbered(response, 1)
    assert events == [("3", "next", {"data": {"log": {"id": "3", "n": 3}}})]


async def test_without_the_id_field_no_ids_and_last_event_id_is_ignored() -> None:
    async with fake_gateway() as (url, executor, _), httpx.AsyncClient(timeout=10) as client:
        body = {"query": "subscription { ticks }"}
        headers = {**SSE, "Last-Event-ID": "7"}
        async with client.stream("POST", http_url(url), json=body, headers=headers) as response:
            await eventually(lambda: executor.streams, "subscription to start")
            executor.streams[0].push({"data": {"ticks": 1}})
            events = await read_numbered(response, 1)
    assert events == [(None, "next", {"data": {"ticks": 1}})]


def test_resumption_rewrites_only_numbered_subscriptions() -> None:
    resume = SseResumption()
    numbered = GraphQLRequest(query="subscription { orderStatusChanged(orderId: 1) { eventId status } }")
    rewritten = resume.resumed(numbered, "5")
    assert 'after: "5"' in rewritten.query and "orderId: 1" in rewritten.query
    literal = GraphQLRequest(query='subscription { s(after: "1") { eventId } }')
    assert resume.resumed(literal, "9").query.count("after") == 1 and '"9"' in resume.resumed(literal, "9").query
    for untouched in (
        GraphQLRequest(query="subscription { s { status } }"),  # no event id selected
        GraphQLRequest(query="query { s { eventId } }"),  # not a subscription
        GraphQLRequest(query="subscription { s { eventId"),  # unparsable: the executor says so
    ):
        assert resume.resumed(untouched, "5") == untouched
    for bad in ("", "  ", "a\nb", "x" * 300, None):  # not a usable id: no cursor
        assert resume.resumed(numbered, bad) == numbered
    persisted = GraphQLRequest(query=numbered.query, extensions={"persistedQuery": {"version": 1}})
    assert resume.resumed(persisted, "5") == persisted
    assert SseResumption(cursor_argument="since").resumed(numbered, "5").query.count("since: ") == 1
    assert SseResumption(cursor_argument="").resumed(numbered, "5") == numbered
    prepared, point = resume.prepare(numbered, "5")
    assert prepared == rewritten and point is not None
    assert point.event_id({"data": {"orderStatusChanged": {"eventId": 6, "status": "PAID"}}}) == "6"
    assert point.event_id({"data": None, "errors": [{"message": "gone"}]}) is None
    assert resume.prepare(GraphQLRequest(query="subscription { s { status } }"), "5")[1] is None
