"""The gateway's lean Redis client against a real Redis: replies matched to their callers in order,
errors kept to their call, transactions, timeouts, reconnects, and the URL's credentials and db."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from gateway.redis_client import RedisClient, RedisReplyError, RedisUnavailable, encode
from subgraphs.kit.embedded_redis import EmbeddedRedis, free_port


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[RedisClient]:
    redis_client = RedisClient(redis_url, timeout=5)
    yield redis_client
    await redis_client.aclose()


def test_commands_are_framed_as_resp_arrays_of_bulk_strings() -> None:
    assert encode([("SET", b"k", 5), ("GET", "ké")]) == (
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n5\r\n" b"*2\r\n$3\r\nGET\r\n$3\r\nk\xc3\xa9\r\n")


async def test_concurrent_calls_on_one_connection_each_get_their_own_replies(client: RedisClient) -> None:
    async def one(i: int) -> list[object]:
        return await client.execute(("SET", f"k{i}", f"v{i}"), ("GET", f"k{i}"), ("ECHO", i), ("HMGET", "none", "a"))

    answers = await asyncio.gather(*(one(i) for i in range(300)))
    assert answers == [[b"OK", f"v{i}".encode(), str(i).encode(), [None]] for i in range(300)]


async def test_an_error_reply_fails_its_own_call_and_leaves_the_connection_in_step(client: RedisClient) -> None:
    await client.execute(("SET", "text", "abc"))
    bad = client.execute(("GET", "text"), ("INCR", "text"), ("ECHO", "after"))
    good = client.execute(("ECHO", "beside"))
    results = await asyncio.gather(bad, good, return_exceptions=True)
    assert isinstance(results[0], RedisReplyError) and "not an integer" in str(results[0])
    assert results[1] == [b"beside"]
    assert await client.execute(("GET", "text")) == [b"abc"]


async def test_a_transaction_applies_every_command_and_answers_their_replies(client: RedisClient) -> None:
    assert await client.transaction(("INCR", "n"), ("INCR", "n"), ("HSET", "h", "f", "x")) == [1, 2, 1]
    with pytest.raises(RedisReplyError):
        await client.transaction(("SET", "s", "v"), ("HSET", "s", "f", "x"))  # WRONGTYPE inside EXEC
    assert await client.execute(("GET", "s")) == [b"v"]  # the rest of it was applied (no rollback in Redis)


async def test_a_server_that_never_answers_fails_every_waiting_call_within_the_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)  # takes every command, answers none

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stuck = RedisClient(f"redis://127.0.0.1:{port}/0", timeout=0.3)
    try:
        began = time.monotonic()
        results = await asyncio.gather(*(stuck.execute(("GET", "k")) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, RedisUnavailable) for r in results), results
        assert time.monotonic() - began < 3
    finally:
        await stuck.aclose()
        server.close()
        await server.wait_closed()


async def test_a_restarted_redis_is_reconnected_on_the_next_call() -> None:
    server = EmbeddedRedis().start()
    reconnecting = RedisClient(server.url, timeout=2)
    try:
        assert await reconnecting.execute(("SET", "k", "1")) == [b"OK"]
        server.stop()
        with pytest.raises(RedisUnavailable):
            await reconnecting.execute(("GET", "k"))
        server.start()
        assert await reconnecting.execute(("ECHO", "back")) == [b"back"]
    finally:
        await reconnecting.aclose()
        server.stop()


async def test_no_server_at_all_is_unavailable_not_a_crash() -> None:
    nowhere = RedisClient(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
    with pytest.raises(RedisUnavailable, match="cannot connect"):
        await nowhere.execute(("PING",))
    await nowhere.aclose()
    with pytest.raises(RedisUnavailable, match="closed"):
        await nowhere.execute(("PING",))


async def test_the_urls_user_password_and_database_are_used() -> None:
    server = EmbeddedRedis().start()
    admin = redis.Redis(host="127.0.0.1", port=server.port)
    password = uuid.uuid4().hex
    try:
        admin.execute_command("ACL", "SETUSER", "gateway", "on", f">{password}", "~*", "+@all")
        admin.config_set("requirepass", password)
        admin = redis.Redis(host="127.0.0.1", port=server.port, password=password)
        as_user = RedisClient(f"redis://gateway:{password}@127.0.0.1:{server.port}/3", timeout=2)
        assert await as_user.execute(("SET", "where", "db3")) == [b"OK"]
        await as_user.aclose()
        assert redis.Redis(host="127.0.0.1", port=server.port, password=password, db=3).get("where") == b"db3"
        assert admin.get("where") is None  # not in db 0
        as_default = RedisClient(f"redis://:{password}@127.0.0.1:{server.port}/0", timeout=2)
        assert await as_default.execute(("PING",)) == [b"PONG"]
        await as_default.aclose()
        refused = RedisClient(f"redis://:wrong@127.0.0.1:{server.port}/0", timeout=2)
        with pytest.raises(RedisUnavailable, match="refused"):
            await refused.execute(("PING",))
        await refused.aclose()
    finally:
        server.stop()
