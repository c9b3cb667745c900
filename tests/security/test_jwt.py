"""JWTs at the gateway and the services: issuer and audience checked, asymmetric keys (RS256, ES256,
EdDSA) from a PEM or a JWKS URL with rotation, a bad token refused with 401 before any fan-out (also
over WebSocket), and no token at all is an anonymous request."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest
from websockets.asyncio.client import connect

from authn.tokens import TokenVerifier, VerifierConfig
from gateway.config import Settings as GatewaySettings
from subgraphs.kit.auth import issue_token
from tests.security.services import (
    AUDIENCE,
    ISSUER,
    SUBGRAPH_SECRET,
    JwksServer,
    KeyPair,
    internal_headers,
    products_and_gateway,
)
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi, wait_for

ME = {"query": "{ me { id } }"}
CATALOG = {"query": "{ categories { slug } }"}
HS_SECRET = "an-hs256-secret-for-these-tests-" + uuid.uuid4().hex


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def post(url: str, body: Mapping[str, object], headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, json=body, headers=headers or {})


@pytest.fixture
async def jwks() -> AsyncIterator[tuple[JwksServer, str]]:
    server = JwksServer(keys=[KeyPair.generate("ES256", "k1")])
    async with serve_asgi(server.app()) as base:
        yield server, f"{base}/.well-known/jwks.json"


def _env(mongo: TestMongo, redis_url: str, **jwt: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, **mongo.env("products"), "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE,
            "SUBGRAPH_SHARED_SECRET": SUBGRAPH_SECRET, **jwt}


async def test_issuer_and_audience_are_checked_before_any_fan_out(redis_url: str, mongo: TestMongo) -> None:
    env = _env(mongo, redis_url, JWT_SECRET=HS_SECRET)
    gateway = GatewaySettings(jwt_secret=HS_SECRET, jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                              subgraph_shared_secret=SUBGRAPH_SECRET)
    async with products_and_gateway(env, gateway) as running:
        good = issue_token("ada", (), HS_SECRET, iss=ISSUER, aud=AUDIENCE)
        answer = await post(running.gateway_url, ME, auth(good))
        assert answer.json() == {"data": {"me": {"id": "ada"}}}
        for bad, why in (
            (issue_token("eve", (), HS_SECRET, iss="https://evil.test/", aud=AUDIENCE), "issuer"),
            (issue_token("eve", (), HS_SECRET, iss=ISSUER, aud="someone-else"), "audience"),
            (issue_token("eve", (), HS_SECRET, aud=AUDIENCE), "iss"),
            (issue_token("eve", (), "a-different-secret-of-enough-length", iss=ISSUER, aud=AUDIENCE), "signature"),
            (issue_token("eve", (), HS_SECRET, iss=ISSUER, aud=AUDIENCE, ttl_seconds=-5), "expired"),
        ):
            # a mutation would fan out to products: a refused token must stop it before planning
            answer = await post(running.gateway_url, {"query": "mutation { clearCart { lines { sku } } }"}, auth(bad))
            assert answer.status_code == 401, (why, answer.text)
            error = answer.json()["errors"][0]
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
            assert why in error["message"].lower(), (why, error)
        # the services check the same: a direct (internal) call with a foreign issuer is refused too
        foreign = issue_token("eve", (), HS_SECRET, iss="https://evil.test/", aud=AUDIENCE)
        direct = await post(running.products_url, ME, {**internal_headers(), **auth(foreign)})
        assert direct.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        # no token: anonymous, and the catalog is public
        anonymous = await post(running.gateway_url, CATALOG)
        assert anonymous.status_code == 200 and anonymous.json()["data"]["categories"]
        malformed = await post(running.gateway_url, CATALOG, {"authorization": "Basic abc"})
        assert malformed.status_code == 401


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
async def test_a_pem_public_key_verifies_asymmetric_tokens(
    algorithm: str, redis_url: str, mongo: TestMongo
) -> None:
    key = KeyPair.generate(algorithm)
    env = _env(mongo, redis_url, JWT_PUBLIC_KEY=key.public_pem)
    gateway = GatewaySettings(jwt_secret=None, jwt_public_key=key.public_pem, jwt_issuer=ISSUER,
                              jwt_audience=AUDIENCE, subgraph_shared_secret=SUBGRAPH_SECRET)
    async with products_and_gateway(env, gateway, seed=False) as running:
        answer = await post(running.gateway_url, ME, auth(key.token("grace")))
        assert answer.json() == {"data": {"me": {"id": "grace"}}}
        other = KeyPair.generate(algorithm)
        assert (await post(running.gateway_url, ME, auth(other.token("eve")))).status_code == 401
        # HS256 with no secret configured (e.g. signed with the public dev secret) is refused
        dev = issue_token("eve", ("orders:admin",), iss=ISSUER, aud=AUDIENCE)
        assert (await post(running.gateway_url, ME, auth(dev))).status_code == 401


async def test_jwks_rotation_refreshes_once_per_unknown_kid(
    jwks: tuple[JwksServer, str], redis_url: str, mongo: TestMongo
) -> None:
    server, url = jwks
    env = _env(mongo, redis_url, JWT_JWKS_URL=url, JWT_JWKS_MIN_REFRESH_SECONDS="0.5")
    gateway = GatewaySettings(jwt_secret=None, jwt_jwks_url=url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                              jwks_min_refresh_seconds=0.5, subgraph_shared_secret=SUBGRAPH_SECRET)
    async with products_and_gateway(env, gateway, seed=False) as running:
        first = server.keys[0]
        answer = await post(running.gateway_url, ME, auth(first.token("ada")))
        assert answer.json() == {"data": {"me": {"id": "ada"}}}
        assert server.fetches == 2  # one by the gateway, one by products; both now hold the key
        await post(running.gateway_url, ME, auth(first.token("ada", "more")))
        assert server.fetches == 2  # a known kid costs no fetch

        # rotate: a new key replaces the old; a token with the new kid makes each verifier refresh once
        # (once the minimum interval is over: until then unknown kids cost no fetch)
        rotated = KeyPair.generate("EdDSA", "k2")
        server.keys = [rotated]

        async def accepted() -> bool:  # refused until the minimum interval since the last fetch is over
            answer = await post(running.gateway_url, ME, auth(rotated.token("bob")))
            return answer.json() == {"data": {"me": {"id": "bob"}}}

        await wait_for(accepted, timeout=10, interval=0.05, message="the rotated key to be fetched")
        assert server.fetches == 4


async def test_random_kids_refresh_at_most_once_per_interval(jwks: tuple[JwksServer, str]) -> None:
    server, url = jwks
    verifier = TokenVerifier(VerifierConfig(jwks_url=url, issuer=ISSUER, audience=AUDIENCE,
                                            jwks_min_refresh_seconds=60))
    attacker = KeyPair.generate("ES256")
    for _ in range(50):
        token = attacker.token("eve", kid=uuid.uuid4().hex)
        await verifier.prepare(token)
        with pytest.raises(Exception, match="signing key is unknown"):
            verifier.verify(token)
    assert server.fetches == 1
    good = server.keys[0].token("ada")
    await verifier.prepare(good)
    assert verifier.verify(good).subject == "ada"
    assert server.fetches == 1


async def test_a_bad_token_over_websocket_is_unauthenticated(redis_url: str, mongo: TestMongo) -> None:
    env = _env(mongo, redis_url, JWT_SECRET=HS_SECRET)
    gateway = GatewaySettings(jwt_secret=HS_SECRET, jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                              subgraph_shared_secret=SUBGRAPH_SECRET)
    async with products_and_gateway(env, gateway, seed=False) as running:
        ws_url = running.gateway_url.replace("http://", "ws://")
        foreign = issue_token("eve", (), HS_SECRET, iss="https://evil.test/", aud=AUDIENCE)
        good = issue_token("ada", (), HS_SECRET, iss=ISSUER, aud=AUDIENCE)
        for token, expect in ((foreign, "UNAUTHENTICATED"), (good, "ada")):
            async with connect(ws_url, subprotocols=["graphql-transport-ws"], proxy=None) as socket:  # type: ignore[list-item]
                init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                await socket.send(json.dumps(init))
                assert json.loads(await socket.recv())["type"] == "connection_ack"
                await socket.send(json.dumps({"type": "subscribe", "id": "1", "payload": ME}))
                message = json.loads(await socket.recv())
                assert expect in json.dumps(message), message
