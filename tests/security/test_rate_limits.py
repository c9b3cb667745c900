"""Rate limits at the gateway: real gateway instances sharing one real Redis, over HTTP, SSE and WS."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest
from websockets.sync.client import connect

from gateway.config import Settings
from gateway.ratelimit import RateRule
from gateway.ratelimit.rules import DEFAULT_RULES, parse_rules
from tests.support.servers import free_port

from .support import PRODUCTION_ENV, QUERY, GatewayServer, Store, error_code, gateways, post, prefix, store, token

PLACE_ORDER = 'mutation { placeOrder(sku: "kettle") }'
ADD_TO_CART = 'mutation { addToCart(sku: "kettle") }'


@pytest.fixture(scope="module")
def shop() -> Iterator[Store]:
    with store() as running:
        yield running


def limited(redis_url: str | None, general: str = "600/60", **settings: object) -> dict[str, object]:
    count, _, period = general.partition("/")
    return {
        "rate_limit_enabled": True,
        "redis_url": redis_url,
        "rate_limit_key_prefix": prefix(),
        "rate_limit_general": RateRule("general", int(count), float(period)),
        **settings,
    }


def assert_rate_limited(response: httpx.Response, limit: str) -> None:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "RATE_LIMITED", "limit": limit, "retryAfter": retry_after}
    assert "data" not in response.json()


def test_two_gateways_share_one_budget_in_redis(shop: Store, redis_server_url: str) -> None:
    with gateways(shop, 2, **limited(redis_server_url, "6/60")) as (a, b):
        fetched_before = len(shop.log)
        for i in range(6):
            response = post((a if i % 2 else b).url)
            assert response.status_code == 200, response.text
        assert_rate_limited(post(a.url), "general")
        assert_rate_limited(post(b.url), "general")
        # refused requests never reach a subgraph
        assert len(shop.log) - fetched_before == 6


def test_each_verified_user_has_a_budget_and_anonymous_clients_share_the_ip_one(
    shop: Store, redis_server_url: str
) -> None:
    with gateways(shop, 2, **limited(redis_server_url, "2/60")) as (a, b):
        alice = {"authorization": f"Bearer {token('alice')}"}
        bob = {"authorization": f"Bearer {token('bob')}"}
        assert post(a.url, headers=alice).status_code == 200
        assert post(b.url, headers=alice).status_code == 200
        assert_rate_limited(post(a.url, headers=alice), "general")
        assert post(b.url, headers=bob).status_code == 200  # another user, another budget
        assert post(a.url).status_code == 200  # no token: the IP's budget
        assert post(b.url).status_code == 200
        assert_rate_limited(post(a.url), "general")
        # a token the gateway cannot verify is no identity: its IP pays, and it is refused before any fetch
        seen = len(shop.log)
        forged = {"authorization": f"Bearer {token('carol', secret='not-the-gateway-secret')}"}
        for headers in (forged, {"authorization": "Bearer not-a-jwt"}):
            assert_rate_limited(post(b.url, headers=headers), "general")  # the IP budget is spent
        assert len(shop.log) == seen


def test_a_flood_of_refused_tokens_spends_the_ip_budget(shop: Store, redis_server_url: str) -> None:
    with gateways(shop, 1, **limited(redis_server_url, "3/60")) as (gw,):
        forged = {"authorization": f"Bearer {token('mallory', secret='not-the-gateway-secret')}"}
        for _ in range(3):
            refused = post(gw.url, headers=forged)
            assert refused.status_code == 401 and error_code(refused) == "UNAUTHENTICATED"
        assert_rate_limited(post(gw.url, headers=forged), "general")
        assert_rate_limited(post(gw.url), "general")  # the same IP, anonymous: the same spent budget
        assert post(gw.url, headers={"authorization": f"Bearer {token('alice')}"}).status_code == 200


def test_forwarded_for_is_believed_only_from_trusted_proxies(shop: Store, redis_server_url: str) -> None:
    # the test client connects from 127.0.0.1: here a trusted proxy
    with gateways(shop, 1, **limited(redis_server_url, "2/60", trusted_proxies=("127.0.0.1/32",))) as (gw,):
        first = {"x-forwarded-for": "203.0.113.1"}
        assert post(gw.url, headers=first).status_code == 200
        assert post(gw.url, headers=first).status_code == 200
        assert_rate_limited(post(gw.url, headers=first), "general")
        assert post(gw.url, headers={"x-forwarded-for": "203.0.113.2"}).status_code == 200
        # a client prepending addresses is not believed: the right-most untrusted hop is the client
        spoofed = {"x-forwarded-for": "198.51.100.7, 203.0.113.1"}
        assert_rate_limited(post(gw.url, headers=spoofed), "general")
        # a chain through a second trusted proxy (127.0.0.1 again) still finds the client
        via_two = {"x-forwarded-for": "203.0.113.1, 127.0.0.1"}
        assert_rate_limited(post(gw.url, headers=via_two), "general")


def test_forwarded_for_from_an_untrusted_peer_is_ignored(shop: Store, redis_server_url: str) -> None:
    with gateways(shop, 1, **limited(redis_server_url, "3/60", trusted_proxies=("10.0.0.0/8",))) as (gw,):
        for n in range(3):
            assert post(gw.url, headers={"x-forwarded-for": f"198.51.100.{n}"}).status_code == 200
        assert_rate_limited(post(gw.url, headers={"x-forwarded-for": "198.51.100.99"}), "general")


def test_rfc7239_forwarded_header_when_configured(shop: Store, redis_server_url: str) -> None:
    settings = limited(redis_server_url, "1/60", trusted_proxies=("127.0.0.0/8",), forwarded_header="forwarded")
    with gateways(shop, 1, **settings) as (gw,):
        assert post(gw.url, headers={"forwarded": 'for="[2001:db8::1]:4711";proto=https'}).status_code == 200
        assert_rate_limited(post(gw.url, headers={"forwarded": "for=[2001:db8::1]"}), "general")
        assert post(gw.url, headers={"forwarded": "for=192.0.2.60"}).status_code == 200


def test_place_order_has_a_stricter_default_budget_than_other_operations(shop: Store, redis_server_url: str) -> None:
    place_order = next(rule for rule in DEFAULT_RULES if rule.name == "placeOrder")
    with gateways(shop, 2, **limited(redis_server_url, "100/60")) as (a, b):
        for i in range(place_order.count):
            response = post((a if i % 2 else b).url, PLACE_ORDER)
            assert response.json() == {"data": {"placeOrder": "order-for-kettle"}}
        assert_rate_limited(post(a.url, PLACE_ORDER), "placeOrder")
        # a refusal takes no budget, and the other classes are untouched
        assert post(b.url, QUERY).status_code == 200
        assert post(a.url, ADD_TO_CART).json() == {"data": {"addToCart": 1}}
        # an operation selecting placeOrder among other fields is refused as a whole
        both = 'mutation { addToCart(sku: "k") ... on Mutation { placeOrder(sku: "k") } }'
        assert_rate_limited(post(b.url, both), "placeOrder")


def test_rules_are_configurable_by_root_field(shop: Store, redis_server_url: str) -> None:
    rules = parse_rules("checkout:placeOrder+refundPayment=2/60,addToCart=off")
    assert not any(rule.name == "cartWrites" and "addToCart" not in rule.fields for rule in rules)
    with gateways(shop, 1, **limited(redis_server_url, "100/60", rate_limit_rules=rules)) as (gw,):
        assert post(gw.url, PLACE_ORDER).status_code == 200
        assert post(gw.url, 'mutation { refundPayment(id: "p") }').status_code == 200
        assert_rate_limited(post(gw.url, PLACE_ORDER), "checkout")


def test_without_redis_each_instance_limits_in_process_and_says_so_once(
    shop: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="gateway.ratelimit"),
        gateways(shop, 2, **limited(None, "2/60")) as (a, b),
    ):
        for server in (a, b):
            assert post(server.url).status_code == 200
            assert post(server.url).status_code == 200
            assert_rate_limited(post(server.url), "general")
    warnings = [r for r in caplog.records if "without Redis" in r.getMessage()]
    assert len(warnings) == 2  # once per gateway instance, not per request


def test_an_unreachable_redis_falls_back_to_in_process_limits(shop: Store) -> None:
    with gateways(shop, 1, **limited(f"redis://127.0.0.1:{free_port()}/0", "2/60")) as (gw,):
        assert post(gw.url).status_code == 200
        assert post(gw.url).status_code == 200
        assert_rate_limited(post(gw.url), "general")


def test_the_switch_turns_rate_limiting_off(shop: Store) -> None:
    assert Settings.from_env({}).rate_limit_enabled is False
    assert Settings.from_env(PRODUCTION_ENV).rate_limit_enabled is True
    assert Settings.from_env({**PRODUCTION_ENV, "RATE_LIMIT_ENABLED": "false"}).rate_limit_enabled is False
    settings = limited(None, "1/60", rate_limit_enabled=False)
    with gateways(shop, 1, **settings) as (gw,):
        assert gw.app.app.gateway.rate_limiter is None
        assert all(post(gw.url, PLACE_ORDER).status_code == 200 for _ in range(15))


def test_bad_rate_settings_are_refused_with_the_variable_named() -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_RULES"):
        Settings.from_env({"RATE_LIMIT_RULES": "placeOrder"})
    with pytest.raises(ValueError, match="placeOrder"):
        Settings.from_env({"RATE_LIMIT_RULES": "placeOrder=ten/60"})
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings.from_env({"TRUSTED_PROXIES": "10.0.0.0/8, not-a-cidr"})
    with pytest.raises(ValueError, match="RATE_LIMIT_ENABLED"):
        Settings.from_env({"RATE_LIMIT_ENABLED": "maybe"})


# --- SSE and WebSocket: the same error in the protocol's error message --------------------------------


def test_sse_refusal_is_an_error_event(shop: Store, redis_server_url: str) -> None:
    with gateways(shop, 1, **limited(redis_server_url, "1/60")) as (gw,):
        headers = {"accept": "text/event-stream"}
        first = httpx.post(gw.url + "/graphql", json={"query": QUERY}, headers=headers, timeout=10)
        assert "Kettle" in first.text
        second = httpx.post(gw.url + "/graphql", json={"query": QUERY}, headers=headers, timeout=10)
        data = [line[len("data: ") :] for line in second.text.splitlines() if line.startswith("data: {")]
        error = orjson.loads(data[0])["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["limit"] == "general"
        assert "event: complete" in second.text


def test_websocket_refusal_is_an_error_message(shop: Store, redis_server_url: str) -> None:
    with gateways(shop, 1, **limited(redis_server_url, "1/60")) as (gw,):
        url = gw.url.replace("http://", "ws://") + "/graphql"
        with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:  # type: ignore[list-item]
            ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}).decode())
            assert orjson.loads(ws.recv(timeout=10))["type"] == "next"
            assert orjson.loads(ws.recv(timeout=10))["type"] == "complete"
            ws.send(orjson.dumps({"id": "2", "type": "subscribe", "payload": {"query": QUERY}}).decode())
            message = orjson.loads(ws.recv(timeout=10))
            assert message["type"] == "error" and message["id"] == "2"
            assert message["payload"][0]["extensions"]["code"] == "RATE_LIMITED"


@pytest.fixture(scope="module")
def realtime_supergraph() -> Iterator[str]:
    """The subscription fixture subgraphs (real servers) composed into a supergraph."""
    from gateway.composition import SubgraphSource, compose
    from tests.gateway.core.harness import RunningServer
    from tests.gateway.subscriptions.fixtures import SCHEMAS, subgraph_app, subgraph_sdl

    servers = {name: RunningServer(subgraph_app(name)).start() for name in SCHEMAS}
    try:
        yield compose(
            [SubgraphSource(n, servers[n].url + "/graphql", subgraph_sdl(schema)) for n, schema in SCHEMAS.items()]
        )
    finally:
        for server in servers.values():
            server.stop()


def test_a_subscription_counts_once_at_subscribe_time(realtime_supergraph: str, redis_server_url: str) -> None:
    from gateway.server import create_app

    settings = Settings(
        supergraph_sdl=realtime_supergraph, **limited(redis_server_url, rate_limit_rules=parse_rules("ticker=1/60"))
    )  # type: ignore[arg-type]
    server = GatewayServer(create_app(settings)).start()
    try:
        url = server.url.replace("http://", "ws://") + "/graphql"
        ticker = 'subscription { ticker(id: "t", count: 3) { n } }'
        with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:  # type: ignore[list-item]
            ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": ticker}}).decode())
            events = [orjson.loads(ws.recv(timeout=10)) for _ in range(4)]
            # three events of one subscription take one unit of the ticker budget
            assert [e["payload"]["data"]["ticker"]["n"] for e in events[:3]] == [1, 2, 3]
            assert events[3]["type"] == "complete"
            ws.send(orjson.dumps({"id": "2", "type": "subscribe", "payload": {"query": ticker}}).decode())
            refused = orjson.loads(ws.recv(timeout=10))
            assert refused["type"] == "error"
            assert refused["payload"][0]["extensions"]["limit"] == "ticker"
    finally:
        server.stop()


def test_the_limiter_reconnects_when_redis_drops_its_connection(shop: Store, redis_server_url: str) -> None:
    import asyncio

    import redis.asyncio as aioredis

    async def kill_other_clients() -> int:
        client = aioredis.Redis.from_url(redis_server_url)
        try:
            return int(await client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
        finally:
            await client.aclose()

    with gateways(shop, 1, **limited(redis_server_url, "3/60")) as (gw,):
        assert post(gw.url).status_code == 200
        assert asyncio.run(kill_other_clients()) >= 1
        allowed = 0
        for _ in range(6):
            response = post(gw.url)
            if response.status_code == 429:
                break
            assert response.status_code == 200
            allowed += 1
        # the budget kept counting in Redis across the reconnect: exactly the two units left
        assert allowed == 2


def test_the_limiter_loads_its_script_again_after_redis_lost_it(shop: Store, redis_server_url: str) -> None:
    """A restarted Redis (or SCRIPT FLUSH) knows no scripts: EVALSHA answers NOSCRIPT, and the limiter
    sends the script itself instead of falling back to in-process budgets."""
    import redis as sync_redis

    with gateways(shop, 1, **limited(redis_server_url, "3/60")) as (gw,):
        assert post(gw.url).status_code == 200
        sync_redis.Redis.from_url(redis_server_url).script_flush()
        assert [post(gw.url).status_code for _ in range(3)] == [200, 200, 429]  # one budget, kept in Redis
