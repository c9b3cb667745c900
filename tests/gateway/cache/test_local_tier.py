"""The in-process tier of the response cache (gateway.cache.local) and its invalidation listener over
a real Redis (gateway.cache.listener)."""

from __future__ import annotations

import asyncio
import time

import orjson
import redis.asyncio as aioredis

from gateway.cache.listener import InvalidationListener, invalidations_channel, parse_message
from gateway.cache.local import LocalResponses

SCOPES = (b"p",)


def _live(max_bytes: int = 1 << 20) -> LocalResponses:
    local = LocalResponses(max_bytes)
    local.reset(live=True)
    return local


def _later() -> int:
    return int(time.time() * 1000) + 60_000


def test_nothing_is_kept_or_served_until_the_tier_is_live() -> None:
    local = LocalResponses(1 << 20)
    assert local.stamp(["products"]) is None
    local.reset(live=True)
    stamp = local.stamp(["products"])
    assert stamp is not None
    local.put("d", b"p", b"{}", _later(), stamp, ["products"])
    assert local.get("d", SCOPES, stamp) is not None
    local.reset(live=False)
    assert local.stamp(["products"]) is None and len(local) == 0


def test_an_invalidation_voids_entries_of_that_subgraph_only() -> None:
    local = _live()
    both, reviews = ["products", "reviews"], ["reviews"]
    local.put("a", b"p", b"A", _later(), local.stamp(both) or (), both)
    local.put("b", b"p", b"B", _later(), local.stamp(reviews) or (), reviews)
    local.bump(["products"])
    assert local.get("a", SCOPES, local.stamp(both) or ()) is None
    hit = local.get("b", SCOPES, local.stamp(reviews) or ())
    assert hit is not None and hit.body == b"B"


def test_a_fetch_that_raced_an_invalidation_is_not_kept() -> None:
    local = _live()
    stamp = local.stamp(["products"])
    assert stamp is not None
    local.bump(["products"])  # while the fetch was under way
    local.put("d", b"p", b"stale", _later(), stamp, ["products"])
    assert len(local) == 0
    local.reset(live=True)  # a new session: stamps of the old one never match again
    local.put("d", b"p", b"stale", _later(), stamp, ["products"])
    assert len(local) == 0


def test_expired_entries_are_not_served_and_the_least_recent_goes_first() -> None:
    local = _live(max_bytes=3 * (100 + 1 + 64))
    stamp = local.stamp([]) or ()
    local.put("x", b"p", b"x" * 100, int(time.time() * 1000) - 1, stamp, [])
    assert len(local) == 0  # already expired
    for name in "abc":
        local.put(name, b"p", b"y" * 100, _later(), stamp, [])
    assert local.get("a", SCOPES, stamp) is not None  # a is now the most recent
    local.put("d", b"p", b"y" * 100, _later(), stamp, [])
    assert local.get("b", SCOPES, stamp) is None
    assert all(local.get(name, SCOPES, stamp) is not None for name in "acd")
    assert local.size_bytes <= local.max_bytes


def test_the_first_scope_that_has_an_entry_answers() -> None:
    local = _live()
    stamp = local.stamp(["accounts"]) or ()
    local.put("d", b"u:ada", b"hers", _later(), stamp, ["accounts"])
    hit = local.get("d", (b"p", b"u:ada"), stamp)
    assert hit is not None and hit.body == b"hers" and hit.scope == 1
    assert local.get("d", (b"p", b"u:alan"), stamp) is None


def test_messages_name_subgraphs_or_void_everything() -> None:
    assert parse_message(b'["products","reviews"]') == ["products", "reviews"]
    assert parse_message(b"nonsense") is None
    assert parse_message(b'{"products": 1}') is None


async def _until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_the_listener_bumps_on_published_invalidations(redis_url: str) -> None:
    local = LocalResponses(1 << 20)
    listener = InvalidationListener(redis_url, "t:", local, 1.0)
    listener.start()
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert await listener.wait_subscribed(5.0)
        assert local.live
        stamp = local.stamp(["products"]) or ()
        local.put("d", b"p", b"{}", _later(), stamp, ["products"])
        await client.publish(invalidations_channel("t:"), orjson.dumps(["products"]))
        await _until(lambda: local.stamp(["products"]) != stamp)
        assert local.get("d", SCOPES, local.stamp(["products"]) or ()) is None
        local.put("e", b"p", b"{}", _later(), local.stamp(["reviews"]) or (), ["reviews"])
        await client.publish(invalidations_channel("t:"), b"not json")
        await _until(lambda: len(local) == 0)  # an unreadable message voids everything
        assert local.live
    finally:
        await client.aclose()
        await listener.aclose()
    assert not local.live
