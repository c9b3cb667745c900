"""The request reading every transport shares, the environment readers, and the /graphql routing by Accept."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message

from gateway.config import env_float, env_int, env_list, env_pairs
from gateway.request import InvalidRequest, payload_from_body, payload_from_query, request_params
from gateway.subscriptions import GraphQLRequest, Realtime, RealtimeMiddleware


def test_request_params_reads_and_checks_the_payload() -> None:
    payload = {"query": "{ x }", "variables": {"a": 1}, "operationName": "", "extensions": {"e": True}}
    assert request_params(payload) == ("{ x }", {"a": 1}, None, {"e": True})
    assert request_params({"query": "{ x }", "operationName": "Q"}) == ("{ x }", None, "Q", None)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "Must provide query string."),
        ({"query": ""}, "Must provide query string."),
        ({"query": 42}, "The query must be a string."),
        ({"query": "{ x }", "variables": [1]}, "The variables must be a JSON object."),
        ({"query": "{ x }", "operationName": 3}, "The operationName must be a string."),
        ({"query": "{ x }", "extensions": "e"}, "The extensions must be a JSON object."),
    ],
)
def test_every_transport_rejects_a_bad_payload_alike(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest) as http:
        request_params(payload)
    with pytest.raises(InvalidRequest) as realtime:
        GraphQLRequest.from_payload(payload)
    expected = [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    assert http.value.errors == realtime.value.errors == expected
    assert http.value.status == 400


def test_payload_from_body_and_query_parameters() -> None:
    assert payload_from_body(b'{"query": "{ x }"}') == {"query": "{ x }"}
    for body in (b"{not json", b"[1]"):
        with pytest.raises(InvalidRequest):
            payload_from_body(body)
    params = {"query": "{ x }", "variables": '{"a": 1}', "extensions": ""}
    assert payload_from_query(params) == {"query": "{ x }", "operationName": None, "variables": {"a": 1}}
    with pytest.raises(InvalidRequest, match="variables parameter"):
        payload_from_query({"query": "{ x }", "variables": "{"})


def test_environment_readers() -> None:
    env = {"N": " 7 ", "F": "2.5", "BLANK": " ", "LIST": "a, ,b,", "PAIRS": "x=1, y = http://h:1/g"}
    assert (env_int(env, "N", 0), env_int(env, "BLANK", 3), env_int(env, "MISSING", 4)) == (7, 3, 4)
    assert env_float(env, "F", 0.0) == 2.5
    assert env_list(env, "LIST") == ("a", "b")
    assert env_pairs(env, "PAIRS") == {"x": "1", "y": "http://h:1/g"}
    with pytest.raises(ValueError, match="F must be an integer"):
        env_int(env, "F", 0)


class _Realtime(Realtime):
    async def sse(self, request: Request) -> Response:
        return PlainTextResponse("sse")


def test_only_event_stream_requests_leave_the_core_app(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[str] = []
    built: list[Request] = []

    real_init = Request.__init__

    def counting_init(self: Request, *args: Any) -> None:  # on the class: seen from compiled code too
        built.append(self)
        real_init(self, *args)

    monkeypatch.setattr(Request, "__init__", counting_init)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        served.append("app")
        await PlainTextResponse("app")(scope, receive, send)

    middleware = RealtimeMiddleware(app, _Realtime(executor=None))  # type: ignore[arg-type]

    async def call(accept: bytes) -> bytes:
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        headers = [(b"content-type", b"application/json"), (b"accept", accept)]
        scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": headers, "query_string": b""}
        await middleware(scope, receive, send)
        return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")

    assert asyncio.run(call(b"application/json")) == b"app"
    assert built == []  # the query path reads the raw headers: no Request object
    assert asyncio.run(call(b"Text/Event-Stream")) == b"sse"
    assert asyncio.run(call(b"text/event-stream-ish")) == b"app"
    assert served == ["app", "app"]
