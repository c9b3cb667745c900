"""Serve fixture subgraphs from one uvicorn server running in a background thread.

Every subgraph of every scenario is mounted at ``/<scenario>/<subgraph>``; each request it receives
is recorded in the scenario's :class:`RequestLog` so tests can assert what the gateway fetched.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from graphql import OperationDefinitionNode, graphql, parse
from graphql.language import FieldNode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .subgraph import Subgraph


@dataclass(frozen=True)
class RequestRecord:
    seq: int
    subgraph: str
    query: str
    variables: dict[str, Any]
    operation_name: str | None
    headers: dict[str, str]

    def root_fields(self) -> list[str]:
        """Top-level field names of the operation (``_entities`` for entity fetches)."""
        names: list[str] = []
        for definition in parse(self.query).definitions:
            if isinstance(definition, OperationDefinitionNode):
                for selection in definition.selection_set.selections:
                    if isinstance(selection, FieldNode):
                        names.append(selection.name.value)
        return names

    @property
    def is_entities(self) -> bool:
        return "_entities" in self.root_fields()

    @property
    def representations(self) -> list[dict[str, Any]]:
        """Representations sent with an ``_entities`` fetch, whatever the variable is called."""
        for value in self.variables.values():
            if isinstance(value, list) and all(isinstance(v, dict) and "__typename" in v for v in value):
                return value
        return []


@dataclass
class RequestLog:
    records: list[RequestRecord] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: int = 0

    def add(self, subgraph: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self._seq += 1
            self.records.append(
                RequestRecord(
                    seq=self._seq,
                    subgraph=subgraph,
                    query=str(body.get("query", "")),
                    variables=dict(body.get("variables") or {}),
                    operation_name=body.get("operationName"),
                    headers=headers,
                )
            )

    def clear(self) -> None:
        with self._lock:
            self.records.clear()
            self.events.clear()

    def calls(self, subgraph: str | None = None) -> list[RequestRecord]:
        """Requests that reached ``subgraph`` (all subgraphs if None), skipping ``_service`` probes."""
        return [
            r for r in self.records if (subgraph is None or r.subgraph == subgraph) and r.root_fields() != ["_service"]
        ]

    def entity_calls(self, subgraph: str) -> list[RequestRecord]:
        return [r for r in self.calls(subgraph) if r.is_entities]

    def root_calls(self, subgraph: str) -> list[RequestRecord]:
        return [r for r in self.calls(subgraph) if not r.is_entities]

    def subgraphs_called(self) -> list[str]:
        return sorted({r.subgraph for r in self.calls()})


@dataclass
class Scenario:
    name: str
    subgraphs: dict[str, Subgraph]
    urls: dict[str, str]
    log: RequestLog


class SubgraphHost:
    """A uvicorn server in a daemon thread hosting every registered scenario."""

    def __init__(self) -> None:
        self._scenarios: dict[str, Scenario] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        # Bound but never listening: connections to it are refused -> a "down" subgraph.
        self._dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._dead.bind(("127.0.0.1", 0))
        self.dead_port: int = self._dead.getsockname()[1]
        app = Starlette(routes=[Route("/{scenario}/{subgraph}", self._handle, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fixture subgraph host did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._dead.close()

    def clear_logs(self) -> None:
        for scenario in self._scenarios.values():
            scenario.log.clear()

    def register(self, name: str, subgraphs: list[Subgraph]) -> Scenario:
        if name in self._scenarios:
            raise ValueError(f"scenario {name} already registered")
        urls: dict[str, str] = {}
        for sg in subgraphs:
            sg.schema  # noqa: B018 - build eagerly so SDL mistakes fail at registration
            if sg.down:
                urls[sg.name] = f"http://127.0.0.1:{self.dead_port}/{name}/{sg.name}"
            else:
                urls[sg.name] = f"http://127.0.0.1:{self.port}/{name}/{sg.name}"
        scenario = Scenario(name, {sg.name: sg for sg in subgraphs}, urls, RequestLog())
        self._scenarios[name] = scenario
        return scenario

    async def _handle(self, request: Request) -> Response:
        scenario = self._scenarios.get(request.path_params["scenario"])
        subgraph = scenario.subgraphs.get(request.path_params["subgraph"]) if scenario else None
        if scenario is None or subgraph is None:
            return PlainTextResponse("no such subgraph", status_code=404)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return JSONResponse({"errors": [{"message": "invalid JSON"}]}, status_code=400)
        scenario.log.add(subgraph.name, body, {k.lower(): v for k, v in request.headers.items()})
        if subgraph.delay:
            await asyncio.sleep(subgraph.delay)
        if subgraph.garbage:
            return Response(b"<html><body>502 Bad Gateway (not GraphQL)</body></html>", 200, media_type="text/html")
        result = await graphql(
            subgraph.schema,
            body.get("query", ""),
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
            context_value={"scenario": scenario, "subgraph": subgraph.name},
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        return Response(orjson.dumps(payload), media_type="application/json")
