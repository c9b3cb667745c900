"""Read operations through our gateway and through another one (@apollo/gateway, Grafbase), on the
same subgraphs: their ``data`` and ``errors[].path`` sets must be equal (tests/differential/compare.py).

The operations: the journey's queries, the explorer's examples and ~150 generated from the API
schema (reads.py), with filters, paging and refused requests picked by hand, asked as the shopper
who did the journey through our gateway; the same in other shapes (aliases, fragments,
@include/@skip, variables, and @defer through ours); where the errors are, as an anonymous caller,
another shopper, an admin, and with unknown ids; and the introspected schema.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from tests.gateway.conformance.harness.multipart import read_stream

from .compare import Difference, Outcome, report
from .conftest import Reader, Shop
from .gateways import GatewayProcess
from .generate import generate
from .reads import PAGE, callers, differences, hand_picked, read_operations, shaped_operations
from .shapes import deferred
from .shop import ShopClient

pytestmark = pytest.mark.slow


def _gateway(request: pytest.FixtureRequest) -> GatewayProcess:
    gateway = request.getfixturevalue(request.param)
    assert isinstance(gateway, GatewayProcess)
    return gateway


@pytest.fixture(params=["apollo", "grafbase"])
def other(request: pytest.FixtureRequest) -> GatewayProcess:
    return _gateway(request)


@pytest.fixture(params=["apollo", "grafbase", "apollo_on_reference"])
def any_other(request: pytest.FixtureRequest) -> GatewayProcess:
    """Also @apollo/gateway on the reference composer's supergraph (its plans from its own join metadata)."""
    return _gateway(request)


def test_read_operations_answer_the_same(shop: Shop, any_other: GatewayProcess, reader: Reader,
                                         examples: dict[str, str]) -> None:
    other = any_other
    operations = read_operations(shop.api_schema, reader.examples, examples)
    assert len(operations) >= 100
    ours, theirs = ShopClient(shop.gateway_url, reader.token), ShopClient(other.url, reader.token)
    started = time.monotonic()
    try:
        first = ours.data(PAGE, {"first": 3, "sort": "PRICE_ASC"})["products"]["pageInfo"]["endCursor"]
        operations += hand_picked(first)
        found = differences(ours, theirs, operations)
    finally:
        ours.close()
        theirs.close()
    assert not found, f"{len(found)} of {len(operations)} differ:\n{report(found, other.name)}"
    assert time.monotonic() - started < 60


def test_other_shapes_of_the_operations_answer_the_same(shop: Shop, other: GatewayProcess, reader: Reader) -> None:
    operations = shaped_operations(shop.api_schema, reader.examples)
    assert len(operations) >= 100
    ours, theirs = ShopClient(shop.gateway_url, reader.token), ShopClient(other.url, reader.token)
    try:
        found = differences(ours, theirs, operations)
        aliased = ours.outcome(operations[0].document, operations[0].variables).data
    finally:
        ours.close()
        theirs.close()
    assert not found, f"{len(found)} of {len(operations)} differ:\n{report(found, other.name)}"
    assert any(key.startswith("a_") for key in aliased)  # the shapes did change the response keys


def test_anonymous_strangers_admins_and_unknown_ids_answer_the_same(shop: Shop, other: GatewayProcess,
                                                                   reader: Reader) -> None:
    found, with_errors, nested = [], 0, 0
    for token, operations in callers(shop.api_schema, reader.examples, reader.token).values():
        ours, theirs = ShopClient(shop.gateway_url, token), ShopClient(other.url, token)
        try:
            found += differences(ours, theirs, operations)
            for operation in operations:
                paths = ours.outcome(operation.document).error_paths
                with_errors += bool(paths)
                nested += any(len(path) > 1 for path in paths)
        finally:
            ours.close()
            theirs.close()
    assert not found, report(found, other.name)
    assert with_errors >= 20 and nested >= 1  # the comparison did see errors, some below the root


@pytest.fixture(params=["apollo", "apollo_on_reference"])
def apollo_any(request: pytest.FixtureRequest) -> GatewayProcess:
    return _gateway(request)


def test_introspection_answers_the_same_schema(shop: Shop, apollo_any: GatewayProcess) -> None:
    """The schema clients introspect: every type of the API (in the same order), the root types, and
    the directives' names and argument names. Left out: the introspection types and the built-in
    directives' details, which are the GraphQL library's, not the gateway's (graphql-core 3.3
    follows the newer spec: `@deprecated(reason: String!)` and on directive definitions too;
    graphql-js 16: `reason: String`). And `@defer`: ours declares it, @apollo/gateway only with its
    query planner's `incrementalDelivery.enableDefer`, off by default (and in apollo_gateway.js)."""
    query = get_introspection_query(descriptions=True)
    ours, theirs = ShopClient(shop.gateway_url), ShopClient(apollo_any.url)
    try:
        mine, other = ours.data(query)["__schema"], theirs.data(query)["__schema"]
    finally:
        ours.close()
        theirs.close()

    def api(schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "roots": [schema[k] for k in ("queryType", "mutationType", "subscriptionType")],
            "types": [t for t in schema["types"] if not t["name"].startswith("__")],
            "directives": [(d["name"], [a["name"] for a in d["args"]]) for d in schema["directives"]
                           if d["name"] != "defer"],
        }

    assert len(api(mine)["types"]) > 50
    assert api(mine) == api(other)
    assert "defer" in {d["name"] for d in mine["directives"]}


def test_deferred_operations_add_up_to_the_plain_answers(shop: Shop, other: GatewayProcess, reader: Reader) -> None:
    """Ours streams the composite fields of each generated operation under ``@defer``; merged, the
    parts must equal the other gateway's answer to the plain operation (@apollo/gateway runs no
    @defer, so the comparison is with the operation without it, as in the conformance suite)."""
    pairs = [(op, shaped) for op in generate(shop.api_schema, reader.examples).operations
             if (shaped := deferred(op)) is not None]
    assert len(pairs) >= 30
    headers = {"Authorization": f"Bearer {reader.token}"}
    found, streamed = [], 0
    with httpx.Client(base_url=shop.gateway_url.removesuffix("/graphql"), timeout=30, headers=headers) as ours:
        theirs = ShopClient(other.url, reader.token)
        try:
            for plain, shaped in pairs:
                stream = read_stream(ours, {"query": shaped.document, "variables": dict(shaped.variables)})
                streamed += len(stream.parts) > 1
                mine = Outcome.of(stream.merged())
                other_outcome = theirs.outcome(plain.document, plain.variables)
                if mine != other_outcome:  # asked again: the workers may have changed something
                    mine = Outcome.of(read_stream(ours, {"query": shaped.document}).merged())
                    other_outcome = theirs.outcome(plain.document, plain.variables)
                    if mine != other_outcome:
                        found.append(Difference(shaped.name, mine, other_outcome))
        finally:
            theirs.close()
    assert streamed >= len(pairs) // 2  # most did come as several parts
    assert not found, report(found, other.name)
