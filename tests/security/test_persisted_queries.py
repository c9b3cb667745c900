"""Persisted queries against real gateways: APQ (Apollo's protocol, shared through Redis) and safelists."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from websockets.sync.client import connect

from gateway.config import Settings
from gateway.persisted import Manifest

from .support import PRODUCTION, QUERY, Store, error_code, gateways, post, prefix, store

MUTATION = 'mutation { placeOrder(sku: "kettle") }'
INTROSPECTION = "{ __schema { queryType { name } } }"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def send_hash(url: str, digest: str, **body: Any) -> httpx.Response:
    return httpx.post(url + "/graphql", json={"extensions": apq(digest), **body}, timeout=10)


def get(url: str, **params: str) -> httpx.Response:
    return httpx.get(url + "/graphql", params=params, timeout=10)


@pytest.fixture(scope="module")
def shop() -> Iterator[Store]:
    with store() as running:
        yield running


def test_apq_round_trip_shared_by_two_gateways_through_redis(shop: Store, redis_server_url: str) -> None:
    key_prefix = prefix()
    settings = {"redis_url": redis_server_url, "apq_key_prefix": key_prefix, "apq_ttl_seconds": 300}
    with gateways(shop, 2, **settings) as (a, b):
        digest = sha(QUERY)
        missing = send_hash(a.url, digest)
        # Apollo's convention: 200, the code the client link reacts to, and not cacheable
        assert missing.status_code == 200
        assert missing.json() == {
            "errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]
        }
        assert missing.headers["cache-control"] == "private, no-cache, must-revalidate"

        registered = send_hash(a.url, digest, query=QUERY)
        assert registered.status_code == 200 and registered.json()["data"]["products"][0]["name"] == "Kettle"
        # the other instance never saw the query: it finds it in Redis
        fetched = len(shop.log)
        by_hash = send_hash(b.url, digest)
        assert by_hash.status_code == 200 and by_hash.json()["data"]["products"][1]["name"] == "Teapot"
        assert len(shop.log) == fetched + 1
        # an upper-case hash names the same query
        assert send_hash(b.url, digest.upper()).status_code == 200

        async def ttl() -> int:
            client = aioredis.Redis.from_url(redis_server_url)
            try:
                return int(await client.ttl(key_prefix + digest))
            finally:
                await client.aclose()

        assert 0 < asyncio.run(ttl()) <= 300


def test_a_hash_that_does_not_match_the_query_is_refused(shop: Store) -> None:
    with gateways(shop) as (gw,):
        response = send_hash(gw.url, sha("{ somethingElse }"), query=QUERY)
        assert response.status_code == 400
        assert error_code(response) == "PERSISTED_QUERY_HASH_MISMATCH"
        # and nothing was stored under that hash
        assert error_code(send_hash(gw.url, sha("{ somethingElse }"))) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        ({"persistedQuery": {"version": 2, "sha256Hash": "ab"}}, "version: 1"),
        ({"persistedQuery": {"version": 1}}, "sha256Hash"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "zz"}}, "64 hex"),
        ({"persistedQuery": "abc"}, "version: 1"),
    ],
)
def test_malformed_persisted_query_extensions_are_400(shop: Store, extensions: dict[str, Any], message: str) -> None:
    with gateways(shop) as (gw,):
        response = httpx.post(gw.url + "/graphql", json={"extensions": extensions}, timeout=10)
        assert response.status_code == 400
        assert error_code(response) == "BAD_REQUEST" and message in response.json()["errors"][0]["message"]


def test_get_requests_use_apq_but_still_may_not_run_mutations(shop: Store) -> None:
    with gateways(shop) as (gw,):
        digest = sha(QUERY)
        extensions = orjson.dumps(apq(digest)).decode()
        assert error_code(get(gw.url, extensions=extensions)) == "PERSISTED_QUERY_NOT_FOUND"
        assert get(gw.url, query=QUERY, extensions=extensions).status_code == 200
        by_hash = get(gw.url, extensions=extensions)
        assert by_hash.status_code == 200 and by_hash.json()["data"]["products"][0]["id"] == "p1"

        mutation_hash = orjson.dumps(apq(sha(MUTATION))).decode()
        assert send_hash(gw.url, sha(MUTATION), query=MUTATION).status_code == 200  # registered by POST
        refused = get(gw.url, extensions=mutation_hash)
        assert refused.status_code == 405 and refused.headers["allow"] == "POST"


def test_apq_can_be_switched_off(shop: Store) -> None:
    assert Settings.from_env({"APQ_ENABLED": "false"}).apq_enabled is False
    with gateways(shop, apq_enabled=False) as (gw,):
        response = send_hash(gw.url, sha(QUERY))
        assert response.status_code == 200 and error_code(response) == "PERSISTED_QUERY_NOT_SUPPORTED"
        # plain queries are unaffected
        assert post(gw.url).status_code == 200


def test_apq_over_sse_and_websocket(shop: Store) -> None:
    with gateways(shop) as (gw,):
        digest = sha(QUERY)
        headers = {"accept": "text/event-stream"}
        body = {"extensions": apq(digest)}
        missing = httpx.post(gw.url + "/graphql", json=body, headers=headers, timeout=10)
        assert "PERSISTED_QUERY_NOT_FOUND" in missing.text
        assert "Kettle" in httpx.post(gw.url + "/graphql", json={**body, "query": QUERY}, headers=headers).text
        assert "Kettle" in httpx.post(gw.url + "/graphql", json=body, headers=headers, timeout=10).text

        url = gw.url.replace("http://", "ws://") + "/graphql"
        with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:  # type: ignore[list-item]
            ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"extensions": apq(digest)}}).decode())
            message = orjson.loads(ws.recv(timeout=10))
            assert message["type"] == "next" and message["payload"]["data"]["products"][0]["name"] == "Kettle"


# --- safelist mode ------------------------------------------------------------------------------------


def write_manifest(path: Path, *bodies: str) -> Path:
    operations = [{"id": f"op-{n}", "body": body, "name": f"Op{n}", "type": "query"} for n, body in enumerate(bodies)]
    manifest = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
    path.write_bytes(orjson.dumps(manifest))
    return path


def test_safelist_runs_only_listed_operations(shop: Store, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "manifest.json", QUERY, MUTATION)
    with gateways(shop, **PRODUCTION, persisted_queries_manifest=str(manifest)) as (gw,):
        # by the manifest's id
        by_id = send_hash(gw.url, "op-0")
        assert by_id.status_code == 200 and by_id.json()["data"]["products"][0]["name"] == "Kettle"
        # by the sha256 of a listed body (what an APQ client sends)
        assert send_hash(gw.url, sha(MUTATION)).json() == {"data": {"placeOrder": "order-for-kettle"}}
        # the full text of a listed operation
        assert post(gw.url, QUERY).status_code == 200
        # anything else
        fetched = len(shop.log)
        unlisted = post(gw.url, '{ product(id: "p1") { name } }')
        assert unlisted.status_code == 403 and error_code(unlisted) == "PERSISTED_QUERY_NOT_IN_SAFELIST"
        unknown = send_hash(gw.url, "op-404")
        assert unknown.status_code == 404 and error_code(unknown) == "PERSISTED_QUERY_NOT_IN_SAFELIST"
        # no registering new operations through APQ
        register = send_hash(gw.url, sha("{ products { id } }"), query="{ products { id } }")
        assert register.status_code == 404 and error_code(register) == "PERSISTED_QUERY_NOT_IN_SAFELIST"
        # an id with a different body is refused, not run
        assert error_code(send_hash(gw.url, "op-0", query=MUTATION)) == "PERSISTED_QUERY_HASH_MISMATCH"
        # introspection is refused unless listed
        introspection = post(gw.url, INTROSPECTION)
        assert introspection.status_code == 403 and error_code(introspection) == "PERSISTED_QUERY_NOT_IN_SAFELIST"
        assert len(shop.log) == fetched


def test_safelist_may_list_introspection_and_applies_to_websockets(shop: Store, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "manifest.json", INTROSPECTION)
    with gateways(shop, persisted_queries_manifest=str(manifest)) as (gw,):
        assert post(gw.url, INTROSPECTION).json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
        url = gw.url.replace("http://", "ws://") + "/graphql"
        with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:  # type: ignore[list-item]
            ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}).decode())
            message = orjson.loads(ws.recv(timeout=10))
            assert message["type"] == "error"
            assert message["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_SAFELIST"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "cannot be read as JSON"),
        (b'{"format": "something-else", "version": 1, "operations": []}', "apollo-persisted-query-manifest"),
        (b'{"format": "apollo-persisted-query-manifest", "version": 1}', "no operations"),
        (b'{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "a"}]}', "#0"),
    ],
)
def test_a_bad_manifest_stops_start_up_with_a_reason(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        Manifest.load(str(path))
    with pytest.raises(ValueError, match="PERSISTED_QUERIES_MANIFEST"):
        Manifest.load(str(tmp_path / "missing.json"))
