"""Test helpers: run ASGI apps on free loopback ports, and tiny graphql-core federation subgraphs."""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson
import uvicorn
from graphql import GraphQLSchema, ObjectTypeDefinitionNode, build_schema, graphql, parse

from gateway.config import Settings
from gateway.http1 import IMPORT_STRING as GATEWAY_HTTP
from gateway.server import create_app
from tests.support.asgi import read_body


class RunningServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        # the gateway's own HTTP/1.1 protocol, as `python -m gateway serve` runs it (gateway.http1)
        config = uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False, http=GATEWAY_HTTP)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def serve(app: Any) -> Iterator[RunningServer]:
    server = RunningServer(app).start()
    try:
        yield server
    finally:
        server.stop()


Resolver = Callable[..., Any]

_FEDERATION_SDL = """
scalar _Any
type _Service { sdl: String }
"""


def subgraph_app(
    sdl: str,
    resolvers: Mapping[str, Resolver] | None = None,
    entities: Mapping[str, Callable[[dict[str, Any]], Any]] | None = None,
    log: list[dict[str, Any]] | None = None,
) -> Any:
    """An ASGI GraphQL subgraph: `sdl` plus `_entities`/`_service`.

    resolvers: "Type.field" -> fn(parent, **args); entities: typename -> fn(representation) -> object.
    Every request body is appended to `log` when given.
    """
    entities = dict(entities or {})
    objects = {d.name.value for d in parse(sdl).definitions if isinstance(d, ObjectTypeDefinitionNode)}
    # interface entities (@key on an interface) resolve to concrete objects, not union members
    entity_names = sorted(name for name in entities if name in objects)
    extra = _FEDERATION_SDL
    query_fields = "_service: _Service!"
    if entity_names:
        extra += f"union _Entity = {' | '.join(entity_names)}\n"
        query_fields += "\n  _entities(representations: [_Any!]!): [_Entity]!"
    if "type Query" in sdl:
        full = sdl.replace("type Query {", "type Query {\n  " + query_fields + "\n", 1) + extra
    else:
        full = sdl + "\ntype Query {\n  " + query_fields + "\n}\n" + extra
    schema: GraphQLSchema = build_schema(full)
    for coordinate, fn in (resolvers or {}).items():
        type_name, field_name = coordinate.split(".")
        schema.get_type(type_name).fields[field_name].resolve = _wrap(fn)  # type: ignore[union-attr]

    def resolve_entities(_parent: Any, _info: Any, representations: list[dict[str, Any]]) -> list[Any]:
        out = []
        for rep in representations:
            fn = entities.get(rep["__typename"])
            obj = fn(rep) if fn else None
            if isinstance(obj, dict) and "__typename" not in obj:
                obj = {"__typename": rep["__typename"], **obj}
            out.append(obj)
        return out

    query_type = schema.query_type
    assert query_type is not None
    if entity_names:
        query_type.fields["_entities"].resolve = resolve_entities
    query_type.fields["_service"].resolve = lambda *_: {"sdl": sdl}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        payload = orjson.loads(body)
        if log is not None:
            log.append({"payload": payload, "headers": {k.decode(): v.decode() for k, v in scope["headers"]}})
        result = await graphql(
            schema,
            payload["query"],
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
            context_value={"headers": scope["headers"]},
        )
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            response["errors"] = [e.formatted for e in result.errors]
        raw = orjson.dumps(response)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    return app


def _wrap(fn: Resolver) -> Callable[..., Any]:
    takes_info = "info" in inspect.signature(fn).parameters

    def resolve(parent: Any, info: Any, **args: Any) -> Any:
        return fn(parent, info=info, **args) if takes_info else fn(parent, **args)

    return resolve


def raw_app(status: int = 200, body: bytes = b"", delay: float = 0.0, content_type: bytes = b"text/plain") -> Any:
    """A misbehaving subgraph: fixed status/body, optionally slow."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        if delay:
            await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]})
        await send({"type": "http.response.body", "body": body})

    return app


def gateway_app(supergraph_sdl: str, urls: Mapping[str, str], **settings: Any) -> Any:
    return create_app(Settings(supergraph_sdl=supergraph_sdl, subgraph_urls=dict(urls), **settings))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recording(app: Any, seen: list[dict[str, str]]) -> Any:
    """`app` noting the headers of every HTTP request it gets (what a subgraph was sent)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await app(scope, receive, send)

    return wrapped
