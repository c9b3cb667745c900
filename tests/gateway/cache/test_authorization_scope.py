"""The cache never hands a caller what their rights hide: a public answer cached for a caller allowed
to see a `@requiresScopes` field is not served to one who is not (real HTTP subgraph, real Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from gateway.composition import SubgraphSource, compose
from gateway.config import CacheSettings
from tests.support.tokens import bearer

from ..core.harness import gateway_app, serve, subgraph_app
from .hinting import hinting

SDL = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@requiresScopes"])
type Query {
  open: String
  report: String @requiresScopes(scopes: [["reports:read"]])
}
"""
QUERY = "{ open report }"


@pytest.fixture
def client(redis_server_url: str) -> Iterator[tuple[httpx.Client, list[dict[str, Any]]]]:
    plain = redis.Redis.from_url(redis_server_url)
    plain.flushdb()
    plain.close()
    log: list[dict[str, Any]] = []
    app = subgraph_app("type Query { open: String report: String }",
                       resolvers={"Query.open": lambda _p: "open", "Query.report": lambda _p: "secret"}, log=log)
    with serve(hinting(app, lambda _payload: "public, max-age=60")) as subgraph:
        supergraph = compose([SubgraphSource("a", f"{subgraph.url}/graphql", SDL)])
        cache = CacheSettings(enabled=True, redis_url=redis_server_url)
        with serve(gateway_app(supergraph, {"a": subgraph.url}, cache=cache)) as gw, \
                httpx.Client(base_url=gw.url, timeout=10) as http:
            yield http, log


def test_a_cached_answer_is_not_served_past_the_callers_rights(client: tuple[httpx.Client, list[Any]]) -> None:
    http, log = client
    allowed = bearer("reader", "reports:read")
    for _ in range(2):
        body = http.post("/graphql", json={"query": QUERY}, headers=allowed).json()
        assert body == {"data": {"open": "open", "report": "secret"}}
    assert len(log) == 1  # the reader's second read came from the cache
    for headers in ({}, bearer("stranger")):
        body = http.post("/graphql", json={"query": QUERY}, headers=headers).json()
        assert body["data"] == {"open": "open", "report": None}
        assert body["errors"][0]["path"] == ["report"]
