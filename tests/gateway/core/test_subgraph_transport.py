"""The subgraph HTTP client (gateway.execution.transport behind SubgraphClient) against raw asyncio
servers that misbehave on purpose: chunked bodies in pieces, closed keep-alives, stalls, garbage."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from pathlib import Path

import orjson
import pytest

from authn.internal import INTERNAL_HEADER, verify_internal
from gateway.config import Settings
from gateway.execution import transport
from gateway.execution.http import SubgraphClient, SubgraphFetchError
from tests.support.raw_http import Handler, RawServers, Request, response
from tests.support.servers import wait_for
from tests.support.tls import self_signed

OK = b'{"data":{"ok":true}}'
BODY = orjson.dumps({"query": "{ ok }", "variables": {}})


async def answer_ok(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
    writer.write(response(OK))


def client_for(url: str, **settings: object) -> SubgraphClient:
    return SubgraphClient({"sub": url}, Settings(**settings))  # type: ignore[arg-type]


async def test_keep_alive_reuses_one_connection(raw_servers: RawServers) -> None:
    server = await raw_servers.start(answer_ok)
    client = client_for(server.url)
    for _ in range(3):
        assert await client.post("sub", BODY, {"content-type": "application/json"}) == {"data": {"ok": True}}
    await client.close()
    assert server.connections == 1 and len(server.requests) == 3
    first = server.requests[0]
    assert first.head.startswith(b"POST /graphql HTTP/1.1\r\n")
    assert first.header("host") == server.url.split("/")[2] and first.body == BODY


async def test_chunked_body_in_pieces(raw_servers: RawServers) -> None:
    async def chunked(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")
        for piece in (OK[:5], OK[5:12], OK[12:]):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0)  # separate writes: the client must reassemble them
        writer.write(b"0\r\n\r\n")

    server = await raw_servers.start(chunked)
    client = client_for(server.url)
    assert await client.post("sub", BODY, {}) == {"data": {"ok": True}}
    assert await client.post("sub", BODY, {}) == {"data": {"ok": True}}
    await client.close()
    assert server.connections == 1


async def test_body_read_until_close_and_gzip(raw_servers: RawServers) -> None:
    async def until_close(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n" + gzip.compress(OK))
        await writer.drain()
        writer.close()

    server = await raw_servers.start(until_close)
    client = client_for(server.url)
    assert await client.post("sub", BODY, {}) == {"data": {"ok": True}}
    assert await client.post("sub", BODY, {}) == {"data": {"ok": True}}
    await client.close()
    assert server.connections == 2  # `Connection: close` is honoured: a new connection each time


async def test_a_response_past_the_size_cap_fails_raw_or_decoded(raw_servers: RawServers) -> None:
    big = b'{"data":{"ok":"' + b"x" * 4096 + b'"}}'

    async def sized(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        if b"small" in request.body:
            writer.write(response(OK))
        elif b"bomb" in request.body:  # 4 KiB compressed to a few dozen bytes
            writer.write(response(gzip.compress(big), b"Content-Encoding: gzip"))
        else:
            writer.write(response(big))

    server = await raw_servers.start(sized)
    client = client_for(server.url, max_subgraph_response_bytes=1024)
    for kind in (b"raw", b"bomb"):
        with pytest.raises(SubgraphFetchError) as failed:
            await client.post("sub", orjson.dumps({"query": "{ ok }", "variables": {"kind": kind.decode()}}), {})
        assert failed.value.code == "SUBREQUEST_HTTP_ERROR" and "larger than 1024 bytes" in failed.value.reason
    small = orjson.dumps({"query": "{ ok }", "variables": {"kind": "small"}})
    assert await client.post("sub", small, {}) == {"data": {"ok": True}}  # the pool still serves
    await client.close()
    assert server.connections == 3  # each oversized response closed its connection


async def test_a_kept_alive_connection_closed_by_the_server_is_retried_for_queries_only(
    raw_servers: RawServers,
) -> None:
    async def one_per_connection(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        if n == 0:
            writer.write(response(OK))
        else:  # the keep-alive race: the server read the request, then closed without an answer
            writer.close()

    server = await raw_servers.start(one_per_connection)
    client = client_for(server.url)
    assert await client.post("sub", BODY, {}, idempotent=True) == {"data": {"ok": True}}
    assert await client.post("sub", BODY, {}, idempotent=True) == {"data": {"ok": True}}
    assert server.connections == 2
    with pytest.raises(SubgraphFetchError) as failed:
        await client.post("sub", BODY, {}, idempotent=False)  # a mutation is not sent twice
    await client.close()
    assert failed.value.code == "SUBREQUEST_HTTP_ERROR" and "closed the connection" in failed.value.reason
    assert server.connections == 2


async def test_a_stalled_subgraph_times_out_and_the_pool_recovers(
    raw_servers: RawServers,
) -> None:
    release = asyncio.Event()

    async def stall_first(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        if len(server.requests) == 1:
            await release.wait()
            writer.close()
            return
        writer.write(response(OK))

    server = await raw_servers.start(stall_first)
    client = client_for(server.url, subgraph_timeouts={"sub": 0.2})
    with pytest.raises(SubgraphFetchError) as failed:
        await client.post("sub", BODY, {})
    release.set()
    assert failed.value.code == "SUBREQUEST_TIMEOUT"
    assert failed.value.reason == "request timed out after 0.2s"
    assert await client.post("sub", BODY, {}) == {"data": {"ok": True}}
    await client.close()


async def test_garbage_errors_and_non_json(raw_servers: RawServers) -> None:
    async def garbage(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SMTP ready\r\n\r\n")

    async def server_error(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(response(b"<html>boom</html>", status=b"502 Bad Gateway"))

    async def not_json(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        writer.write(response(b"not json"))

    cases = {"garbage": garbage, "502": server_error, "not json": not_json}
    reasons = {}
    for name, handler in cases.items():
        server = await raw_servers.start(handler)
        client = client_for(server.url)
        with pytest.raises(SubgraphFetchError) as failed:
            await client.post("sub", BODY, {})
        await client.close()
        assert failed.value.code == "SUBREQUEST_HTTP_ERROR"
        reasons[name] = (failed.value.reason, failed.value.status)
    assert reasons["garbage"][0].startswith("invalid HTTP response")
    assert reasons["502"] == ("502: Bad Gateway", 502)
    assert reasons["not json"] == ("the subgraph response is not a GraphQL JSON response", 200)


async def test_a_closed_port_cannot_connect() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    client = client_for(f"http://127.0.0.1:{port}/graphql")
    with pytest.raises(SubgraphFetchError) as failed:
        await client.post("sub", BODY, {})
    assert failed.value.code == "SUBREQUEST_HTTP_ERROR" and failed.value.reason.startswith("cannot connect")
    redacting = client_for(f"http://127.0.0.1:{port}/graphql", app_env="production")
    with pytest.raises(SubgraphFetchError) as hidden:
        await redacting.post("sub", BODY, {"x-request-id": "req-7"})
    assert hidden.value.to_graphql_error() == {
        "message": "HTTP fetch failed from 'sub'",
        "extensions": {"code": "SUBREQUEST_HTTP_ERROR", "service": "sub", "requestId": "req-7"},
    }


async def test_the_pool_is_bounded_and_every_waiter_is_served(
    raw_servers: RawServers,
) -> None:
    async def slowish(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.01)
        writer.write(response(OK))

    server = await raw_servers.start(slowish)
    client = client_for(server.url, max_connections_per_subgraph=2)
    results = await asyncio.gather(*(client.post("sub", BODY, {}) for _ in range(12)))
    await client.close()
    assert results == [{"data": {"ok": True}}] * 12
    assert server.most_open <= 2 and len(server.requests) == 12


async def test_headers_signed_forwarded_and_never_split(raw_servers: RawServers) -> None:
    server = await raw_servers.start(answer_ok)
    client = client_for(server.url, subgraph_shared_secret="s3cret-for-tests-only-0123456789")
    headers = {"authorization": "Bearer abc", "x-evil": "a\r\nx-injected: 1", "x-request-id": "r1"}
    wire = client.encode_headers(headers)
    await client.post("sub", BODY, headers, wire=wire)
    await client.close()
    sent = server.requests[0]
    assert sent.header("authorization") == "Bearer abc" and sent.header("x-request-id") == "r1"
    assert sent.header("x-injected") is None and sent.header("x-evil") is None
    signed = sent.header(INTERNAL_HEADER)
    assert signed is not None
    assert verify_internal(signed, "s3cret-for-tests-only-0123456789") is not None


def _held(release: asyncio.Event) -> Handler:
    """Answers each request once `release` is set (so identical fetches overlap)."""

    async def handler(request: Request, n: int, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.write(response(OK))

    return handler


async def test_identical_queries_in_flight_share_one_request(raw_servers: RawServers) -> None:
    release = asyncio.Event()
    server = await raw_servers.start(_held(release))
    client = client_for(server.url)
    same = [{"authorization": "Bearer a", "x-request-id": f"r{i}"} for i in range(5)]
    other = {"authorization": "Bearer b", "x-request-id": "r9"}
    posts = [asyncio.ensure_future(client.post("sub", BODY, headers, idempotent=True)) for headers in [*same, other]]
    mutations = [asyncio.ensure_future(client.post("sub", BODY, same[0], idempotent=False)) for _ in range(2)]

    async def all_sent() -> bool:
        return len(server.requests) == 4  # one per identity (2) and one per mutation (2)

    await wait_for(all_sent, message="the distinct requests to arrive")
    release.set()
    answers = await asyncio.gather(*posts, *mutations)
    await client.close()
    assert client.shared_fetches == 4
    assert answers == [{"data": {"ok": True}}] * 8
    assert len({id(answer) for answer in answers}) == 8  # each caller parsed its own copy
    assert sorted(r.header("authorization") or "" for r in server.requests) == ["Bearer a"] * 3 + ["Bearer b"]


async def test_a_cancelled_leader_does_not_fail_its_followers(raw_servers: RawServers) -> None:
    release = asyncio.Event()
    server = await raw_servers.start(_held(release))
    client = client_for(server.url)
    leader = asyncio.ensure_future(client.post("sub", BODY, {}, idempotent=True))

    async def leader_sent() -> bool:
        return len(server.requests) == 1

    await wait_for(leader_sent, message="the leader's request")
    follower = asyncio.ensure_future(client.post("sub", BODY, {}, idempotent=True))

    async def follower_joined() -> bool:
        return client.shared_fetches == 1

    await wait_for(follower_joined, message="the follower to join the leader's exchange")
    leader.cancel()

    async def follower_sent() -> bool:
        return len(server.requests) == 2

    await wait_for(follower_sent, message="the follower's own request")
    release.set()
    assert await follower == {"data": {"ok": True}}
    await client.close()
    assert leader.cancelled()


async def test_deduplication_can_be_switched_off(raw_servers: RawServers) -> None:
    release = asyncio.Event()
    server = await raw_servers.start(_held(release))
    client = client_for(server.url, deduplicate_fetches=False)
    posts = [asyncio.ensure_future(client.post("sub", BODY, {}, idempotent=True)) for _ in range(3)]

    async def all_sent() -> bool:
        return len(server.requests) == 3

    await wait_for(all_sent, message="three requests")
    release.set()
    await asyncio.gather(*posts)
    await client.close()
    assert client.shared_fetches == 0


async def test_https_subgraphs_are_verified(
    raw_servers: RawServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path, "localhost")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    server = await raw_servers.start(answer_ok, tls=tls, host="localhost")
    untrusted = client_for(server.url)
    with pytest.raises(SubgraphFetchError) as failed:
        await untrusted.post("sub", BODY, {})
    assert "CERTIFICATE_VERIFY_FAILED" in failed.value.reason
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts it from now on
    trusted = client_for(server.url)
    assert await trusted.post("sub", BODY, {}) == {"data": {"ok": True}}
    assert await trusted.post("sub", BODY, {}) == {"data": {"ok": True}}
    await untrusted.close()
    await trusted.close()
    assert server.connections == 1 and len(server.requests) == 2  # one kept-alive TLS connection


async def test_idle_connections_are_not_reused_past_the_keep_alive(
    raw_servers: RawServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await raw_servers.start(answer_ok)
    client = client_for(server.url)
    await client.post("sub", BODY, {})
    monkeypatch.setattr(transport, "KEEPALIVE_SECONDS", 0.0)  # every idle connection is too old now
    await client.post("sub", BODY, {})
    await client.close()
    assert server.connections == 2
