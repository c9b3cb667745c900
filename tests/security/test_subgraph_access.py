"""Subgraphs answer only the gateway and other services once SUBGRAPH_SHARED_SECRET is set: the SDL
(with `reserveStock`), introspection and GraphiQL are closed to direct callers; /health and /ready stay
open; the gateway, composition and service-to-service calls (kit ServiceClient) carry the credential."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from authn.internal import InternalSigner, verify_internal
from gateway.composition import CompositionError
from gateway.composition.config import fetch_subgraph_sdl
from gateway.config import Settings as GatewaySettings
from subgraphs.kit.errors import ServiceUnavailable
from subgraphs.orders.products_client import ProductsClient
from tests.security.services import SUBGRAPH_SECRET, Running, internal_headers, products_and_gateway
from tests.support.mongo import TestMongo

SDL = {"query": "{ _service { sdl } }"}


@pytest.fixture
async def closed(redis_url: str, mongo: TestMongo) -> AsyncIterator[Running]:
    """Development mode, with the secret set: the check is on."""
    env = {"REDIS_URL": redis_url, **mongo.env("products"), "SUBGRAPH_SHARED_SECRET": SUBGRAPH_SECRET}
    async with products_and_gateway(env, GatewaySettings(subgraph_shared_secret=SUBGRAPH_SECRET)) as running:
        yield running


async def test_direct_callers_get_no_sdl_introspection_or_graphiql(closed: Running) -> None:
    base = closed.products_url.removesuffix("/graphql")
    async with httpx.AsyncClient() as client:
        for request in (
            client.post(closed.products_url, json=SDL),
            client.post(closed.products_url, json={"query": "{ __schema { types { name } } }"}),
            client.get(closed.products_url, headers={"accept": "text/html"}),
            client.post(closed.products_url, json=SDL, headers={"x-subgraph-auth": "gateway;;1;00"}),
            client.post(closed.products_url, json=SDL, headers=internal_headers("another-secret-of-enough-length!!")),
        ):
            answer = await request
            assert answer.status_code == 401
            assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert "reserveStock" not in answer.text
        assert (await client.get(f"{base}/health")).status_code == 200
        assert (await client.get(f"{base}/ready")).status_code == 200
        inside = await client.post(closed.products_url, json=SDL, headers=internal_headers())
        assert inside.status_code == 200
        assert "reserveStock" in inside.json()["data"]["_service"]["sdl"]


async def test_a_stale_credential_is_refused(closed: Running) -> None:
    stale = InternalSigner(SUBGRAPH_SECRET, "gateway", clock=lambda: time.time() - 600).headers()
    async with httpx.AsyncClient() as client:
        answer = await client.post(closed.products_url, json=SDL, headers=stale)
    assert answer.status_code == 401


async def test_websocket_needs_the_credential_too(closed: Running) -> None:
    ws_url = closed.products_url.replace("http://", "ws://")
    with pytest.raises(InvalidStatus):
        async with connect(ws_url, subprotocols=["graphql-transport-ws"], proxy=None):  # type: ignore[list-item]
            pass
    async with connect(
        ws_url, subprotocols=["graphql-transport-ws"], additional_headers=internal_headers(), proxy=None  # type: ignore[list-item]
    ) as socket:
        await socket.send('{"type": "connection_init", "payload": {}}')
        assert "connection_ack" in str(await socket.recv())


async def test_the_gateway_signs_its_requests(closed: Running) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(closed.gateway_url, json={"query": "{ categories { slug } }"})
    assert answer.status_code == 200, answer.text
    assert "errors" not in answer.json()
    assert answer.json()["data"]["categories"]


async def test_composition_fetches_the_sdl_with_the_credential(
    closed: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fetch is synchronous (the CLI's); off the loop, so the server in this loop can answer
    monkeypatch.delenv("SUBGRAPH_SHARED_SECRET", raising=False)
    with pytest.raises(CompositionError, match="HTTP 401"):
        await asyncio.to_thread(fetch_subgraph_sdl, "products", closed.products_url)
    monkeypatch.setenv("SUBGRAPH_SHARED_SECRET", SUBGRAPH_SECRET)
    assert "reserveStock" in await asyncio.to_thread(fetch_subgraph_sdl, "products", closed.products_url)


async def test_services_call_each_other_with_the_signed_identity(
    closed: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """orders -> products: no JWT at all (production services hold only public keys); the signed
    header makes the caller `service:orders` with the inventory scope it signed for."""
    signed = ProductsClient(closed.products_url, jwt_secret=None, subgraph_secret=SUBGRAPH_SECRET)
    unsigned = ProductsClient(closed.products_url, jwt_secret="x" * 40)
    try:
        assert await signed.release("no-such-order") in (True, False)
        with pytest.raises(ServiceUnavailable):
            await unsigned.release("no-such-order")
        assert "only answers the gateway and other services" in caplog.text
    finally:
        await signed.aclose()
        await unsigned.aclose()


def test_the_header_value_is_cached_per_second_and_verifies() -> None:
    now = [1000.0]
    signer = InternalSigner(SUBGRAPH_SECRET, "orders", ("inventory:write",), clock=lambda: now[0])
    first = signer.value()
    now[0] += 0.5
    assert signer.value() is first
    now[0] += 1
    assert signer.value() != first
    caller = verify_internal(signer.value(), SUBGRAPH_SECRET, now=now[0] + 30)
    assert caller is not None and caller.sender == "orders" and caller.scopes == {"inventory:write"}
    assert verify_internal(signer.value(), SUBGRAPH_SECRET, now=now[0] + 61) is None
    assert verify_internal(signer.value().replace("orders", "admins"), SUBGRAPH_SECRET, now=now[0]) is None
