"""The gateway's entity and query cache over real HTTP subgraphs and a real Redis (gateway.cache)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
import pytest
import redis

from gateway.config import CacheSettings
from subgraphs.kit.embedded_redis import EmbeddedRedis, free_port
from tests.support.tokens import bearer

from ..core import shop
from ..core.harness import RunningServer, gateway_app, serve, subgraph_app
from .hinting import hinting

TOKEN = "invalidate-me"
PUBLIC = "public, max-age=60"
TOP = "{ topProducts(first: 3) { upc name price inStock } }"


def _subject(info: Any) -> str | None:
    for name, value in info.context["headers"]:
        if name == b"authorization":
            claims = jwt.decode(value.decode().partition(" ")[2], options={"verify_signature": False})
            return str(claims["sub"])
    return None


def accounts(log: list[dict[str, Any]]) -> Any:
    """`me` is whoever the forwarded token names: a leak across users would show another's name."""

    def me(_parent: Any, info: Any) -> dict[str, Any] | None:
        subject = _subject(info)
        return {"id": subject, "name": f"user {subject}"} if subject else None

    return subgraph_app(
        """
        type Query { me: User  user(id: ID!): User }
        type Mutation { login(username: String!): User }
        type User { id: ID! name: String username: String internal: String }
        """,
        resolvers={"Query.me": me, "Mutation.login": lambda _p, username: {"id": "9", "name": username}},
        entities={"User": lambda rep: {"id": rep["id"], "name": f"user {rep['id']}"}},
        log=log,
    )


@pytest.fixture(scope="module")
def hints() -> dict[str, str | None]:
    return {}


@pytest.fixture(scope="module")
def extensions() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def tags() -> dict[str, Any]:
    """Per subgraph: the Cache-Tag of a response, from the request payload (none by default)."""
    return {}


@pytest.fixture(scope="module")
def logs() -> dict[str, list[dict[str, Any]]]:
    return {"accounts": [], "products": [], "inventory": [], "reviews": []}


@pytest.fixture(scope="module")
def subgraphs(
    logs: dict[str, list[dict[str, Any]]], hints: dict[str, str | None], extensions: dict[str, Any],
    tags: dict[str, Any],
) -> Iterator[dict[str, str]]:
    factories = {"accounts": accounts, "products": shop.products, "inventory": shop.inventory,
                 "reviews": shop.reviews}
    servers = {}
    for name, factory in factories.items():
        app = hinting(
            factory(logs[name]),
            lambda _payload, name=name: hints.get(name),
            lambda _payload, name=name: extensions.get(name),
            lambda payload, name=name: tags[name](payload) if name in tags else None,
        )
        servers[name] = RunningServer(app).start()
    try:
        yield {name: server.url for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def setup(
    logs: dict[str, list[dict[str, Any]]], hints: dict[str, str | None], extensions: dict[str, Any],
    tags: dict[str, Any], redis_server_url: str,
) -> Iterator[None]:
    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    client.close()
    for log in logs.values():
        log.clear()
    hints.clear()
    hints.update({"accounts": PUBLIC, "products": PUBLIC, "inventory": PUBLIC, "reviews": PUBLIC})
    extensions.clear()
    tags.clear()
    yield


def _client(subgraphs: dict[str, str], redis_url: str) -> Iterator[httpx.Client]:
    cache = CacheSettings(enabled=True, redis_url=redis_url, invalidation_token=TOKEN)
    with serve(gateway_app(shop.SUPERGRAPH, subgraphs, cache=cache)) as gw, \
            httpx.Client(base_url=gw.url, timeout=10) as client:
        yield client


@pytest.fixture
def client(setup: None, subgraphs: dict[str, str], redis_server_url: str) -> Iterator[httpx.Client]:
    yield from _client(subgraphs, redis_server_url)


def query(client: httpx.Client, text: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": text}, headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def invalidate(client: httpx.Client, items: Any, token: str = TOKEN) -> httpx.Response:
    return client.post("/cache/invalidation", json=items, headers={"authorization": f"Bearer {token}"})


def representations(log: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [entry["payload"]["variables"]["representations"] for entry in log
            if "representations" in entry["payload"].get("variables", {})]


def test_a_cached_second_read_reaches_no_subgraph(client: httpx.Client, logs: dict[str, list[Any]]) -> None:
    first = query(client, TOP)
    assert [p["inStock"] for p in first["data"]["topProducts"]] == [True, False, True]
    assert len(logs["products"]) == 1 and len(logs["inventory"]) == 1
    assert query(client, TOP) == first
    assert len(logs["products"]) == 1 and len(logs["inventory"]) == 1


def test_a_query_no_subgraph_answers_leaves_the_cache_working(
    client: httpx.Client, logs: dict[str, list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """`{ __typename }` plans no fetch: it used to send Redis an MGET of no keys, whose error opened
    the breaker, and the next reads went uncached."""
    with caplog.at_level(logging.WARNING, logger="gateway.cache"):
        assert query(client, "{ __typename }") == {"data": {"__typename": "Query"}}
        first = query(client, TOP)
        assert query(client, TOP) == first
    assert len(logs["products"]) == 1  # the second read was a hit
    assert not [r for r in caplog.records if "Redis failed" in r.getMessage()]


def test_without_a_hint_nothing_is_cached(
    client: httpx.Client, logs: dict[str, list[Any]], hints: dict[str, str | None]
) -> None:
    hints["inventory"] = None
    hints["products"] = "no-store"
    query(client, TOP)
    query(client, TOP)
    assert len(logs["products"]) == 2 and len(logs["inventory"]) == 2


def test_only_the_missing_entities_are_fetched(client: httpx.Client, logs: dict[str, list[Any]]) -> None:
    query(client, "{ topProducts(first: 2) { upc inStock } }")
    assert [len(reps) for reps in representations(logs["inventory"])] == [2]
    query(client, "{ topProducts(first: 3) { upc inStock } }")  # a new root query, two known entities
    assert [[r["upc"] for r in reps] for reps in representations(logs["inventory"])] == [["1", "2"], ["3"]]


def test_private_data_is_cached_per_user_and_never_shared(
    client: httpx.Client, logs: dict[str, list[Any]], hints: dict[str, str | None]
) -> None:
    hints["accounts"] = "private, max-age=60"
    ada, alan = bearer("ada"), bearer("alan")
    assert query(client, "{ me { name } }", ada)["data"]["me"]["name"] == "user ada"
    assert query(client, "{ me { name } }", ada)["data"]["me"]["name"] == "user ada"
    assert len(logs["accounts"]) == 1  # ada's second read came from her cache entry
    assert query(client, "{ me { name } }", alan)["data"]["me"]["name"] == "user alan"
    assert len(logs["accounts"]) == 2
    assert query(client, "{ me { name } }")["data"]["me"] is None  # anonymous: private is never cached
    assert query(client, "{ me { name } }")["data"]["me"] is None
    assert len(logs["accounts"]) == 4


def test_mutations_are_not_cached(client: httpx.Client, logs: dict[str, list[Any]]) -> None:
    for _ in range(2):
        assert query(client, 'mutation { login(username: "x") { id name } }')["data"]["login"]["name"] == "x"
    assert len(logs["accounts"]) == 2


def test_the_endpoint_makes_a_price_change_visible_at_once(
    client: httpx.Client, logs: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert query(client, TOP)["data"]["topProducts"][0]["price"] == 899
    monkeypatch.setitem(shop.PRODUCTS["1"], "price", 799)
    assert query(client, TOP)["data"]["topProducts"][0]["price"] == 899  # cached: the subgraph is not asked
    response = invalidate(client, [{"kind": "entity", "subgraph": "products", "type": "Product", "key": {"upc": "1"}}])
    assert response.status_code == 200, response.text
    assert query(client, TOP)["data"]["topProducts"][0]["price"] == 799
    assert len(logs["products"]) == 2


def test_an_entity_invalidation_drops_that_entity_only(
    client: httpx.Client, logs: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    query(client, TOP)
    monkeypatch.setitem(shop.IN_STOCK, "2", True)
    response = invalidate(client, [{"kind": "entity", "subgraph": "inventory", "type": "Product", "key": {"upc": "2"}}])
    assert response.status_code == 200
    assert [p["inStock"] for p in query(client, TOP)["data"]["topProducts"]] == [True, True, True]
    assert [[r["upc"] for r in reps] for reps in representations(logs["inventory"])] == [["1", "2", "3"], ["2"]]


def test_type_and_subgraph_invalidations(
    client: httpx.Client, logs: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    query(client, TOP)
    monkeypatch.setitem(shop.IN_STOCK, "3", False)
    assert invalidate(client, [{"kind": "type", "subgraph": "inventory", "type": "Product"}]).status_code == 200
    assert [p["inStock"] for p in query(client, TOP)["data"]["topProducts"]] == [True, False, False]
    monkeypatch.setitem(shop.PRODUCTS["2"], "name", "Sofa")
    assert invalidate(client, {"kind": "subgraph", "subgraph": "products"}).status_code == 200
    assert query(client, TOP)["data"]["topProducts"][1]["name"] == "Sofa"
    assert len(logs["inventory"]) == 2 and len(logs["products"]) == 2


def test_a_mutation_extension_invalidates_before_the_answer(
    client: httpx.Client, extensions: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert query(client, TOP)["data"]["topProducts"][0]["price"] == 899
    monkeypatch.setitem(shop.PRODUCTS["1"], "price", 699)
    extensions["accounts"] = {"invalidation": [
        {"kind": "entity", "subgraph": "products", "type": "Product", "key": {"upc": "1"}}]}
    query(client, 'mutation { login(username: "x") { id } }')
    assert query(client, TOP)["data"]["topProducts"][0]["price"] == 699


def test_the_endpoint_refuses_bad_tokens_and_bad_bodies(client: httpx.Client) -> None:
    item = [{"kind": "subgraph", "subgraph": "products"}]
    assert invalidate(client, item, token="wrong").status_code == 401
    assert client.post("/cache/invalidation", json=item).status_code == 401
    bad = invalidate(client, [{"kind": "entity", "subgraph": "products", "type": "Product"}])
    assert bad.status_code == 400
    assert "key" in bad.json()["errors"][0]["message"]
    assert invalidate(client, "nope").status_code == 400
    assert client.get("/cache/invalidation", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_redis_down_still_answers(setup: None, subgraphs: dict[str, str], logs: dict[str, list[Any]]) -> None:
    for client in _client(subgraphs, f"redis://127.0.0.1:{free_port()}/0"):  # nothing listens there
        first = query(client, TOP)
        assert [p["upc"] for p in first["data"]["topProducts"]] == ["1", "2", "3"]
        assert query(client, TOP) == first
        assert len(logs["products"]) == 2
        response = invalidate(client, [{"kind": "subgraph", "subgraph": "products"}])
        assert response.status_code == 503


def test_the_hinted_parts_of_a_partly_hinted_query_are_cached(
    client: httpx.Client, logs: dict[str, list[Any]], hints: dict[str, str | None]
) -> None:
    hints["inventory"] = None  # the whole response may not be kept; the products root fetch may
    first = query(client, TOP)
    assert query(client, TOP) == first
    assert len(logs["products"]) == 1 and len(logs["inventory"]) == 2


def _poll(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@contextmanager
def _instance(subgraphs: dict[str, str], redis_url: str) -> Iterator[tuple[httpx.Client, Any]]:
    """A gateway with the cache on `redis_url`, its in-process tier live; (client, the Gateway)."""
    cache = CacheSettings(enabled=True, redis_url=redis_url, invalidation_token=TOKEN)
    app = gateway_app(shop.SUPERGRAPH, subgraphs, cache=cache)
    with serve(app) as gw, httpx.Client(base_url=gw.url, timeout=10) as client:
        yield client, app.app.gateway


def test_a_repeated_read_is_answered_in_process_without_redis(
    setup: None, subgraphs: dict[str, str], logs: dict[str, list[Any]], redis_server_url: str
) -> None:
    with _instance(subgraphs, redis_server_url) as (a, gateway_a), _instance(subgraphs, redis_server_url) as (b, _):
        first = query(a, TOP)
        redis.Redis.from_url(redis_server_url).flushdb()  # Redis forgets, without an invalidation
        assert query(a, TOP) == first  # the in-process copy answered
        assert len(logs["products"]) == 1
        assert len(gateway_a.response_cache.local) == 1
        assert query(b, TOP) == first  # another instance has no copy and Redis none: it fetches
        assert len(logs["products"]) == 2


def test_an_invalidation_at_one_instance_reaches_the_others_copies(
    setup: None, subgraphs: dict[str, str], logs: dict[str, list[Any]], redis_server_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _instance(subgraphs, redis_server_url) as (a, _), _instance(subgraphs, redis_server_url) as (b, _):
        assert query(a, TOP)["data"]["topProducts"][0]["price"] == 899
        assert query(a, TOP)["data"]["topProducts"][0]["price"] == 899
        monkeypatch.setitem(shop.PRODUCTS["1"], "price", 749)
        item = [{"kind": "entity", "subgraph": "products", "type": "Product", "key": {"upc": "1"}}]
        assert invalidate(b, item).status_code == 200
        # a's copy goes when the published message reaches it (sub-millisecond here; polled, not assumed)
        _poll(lambda: query(a, TOP)["data"]["topProducts"][0]["price"] == 749)
        assert query(b, TOP)["data"]["topProducts"][0]["price"] == 749


def test_the_in_process_tier_is_bypassed_while_redis_is_away(
    setup: None, subgraphs: dict[str, str], logs: dict[str, list[Any]]
) -> None:
    private = EmbeddedRedis().start()
    try:
        with _instance(subgraphs, private.url) as (client, gateway):
            local = gateway.response_cache.local
            query(client, TOP)
            assert query(client, TOP) and len(logs["products"]) == 1 and len(local) == 1
            private.stop()  # invalidations could now be missed: nothing may be served from memory
            _poll(lambda: not local.live)
            assert len(local) == 0
            query(client, TOP)
            assert len(logs["products"]) == 2
            private.start()
            _poll(lambda: local.live, timeout=10)
            # kept again once the store's breaker lets it write to Redis (BREAKER_SECONDS)
            _poll(lambda: bool(query(client, TOP)) and len(local) == 1, timeout=10)
            fetched = len(logs["products"])
            query(client, TOP)
            assert len(logs["products"]) == fetched
    finally:
        private.stop()


# --- cache tags (gateway.cache.tags) ---------------------------------------------------------------

def _named_upcs(payload: dict[str, Any]) -> str:
    """The Cache-Tag of a products answer: a tag per product it names (`product(upc: ...)`)."""
    found = re.findall(r'upc:\s*"(\w+)"', payload["query"])
    found += [value for value in payload.get("variables", {}).values() if isinstance(value, str)]
    return ", ".join(f"product:{upc}" for upc in found)


def _product(upc: str) -> str:
    return f'{{ product(upc: "{upc}") {{ name }} }}'


def _fetches(log: list[dict[str, Any]], upc: str) -> int:
    return sum(1 for entry in log if _named_upcs(entry["payload"]) == f"product:{upc}")


def _tag(tag: str) -> list[dict[str, Any]]:
    return [{"kind": "tag", "subgraph": "products", "tag": tag}]


def test_a_tagged_answer_is_stored_at_once_and_served(
    client: httpx.Client, logs: dict[str, list[Any]], tags: dict[str, Any]
) -> None:
    tags["products"] = _named_upcs
    answers = [query(client, _product("1")) for _ in range(4)]
    assert answers == [{"data": {"product": {"name": "Table"}}}] * 4
    # its tags were not read by the first lookup, but the subgraph's generation it read vouches for them
    assert _fetches(logs["products"], "1") == 1


def test_a_tagged_answer_that_raced_an_invalidation_is_not_kept(
    client: httpx.Client, logs: dict[str, list[Any]], tags: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def tag_and_race(payload: dict[str, Any]) -> str:
        if len(logs["products"]) == 1:  # while the first fetch is answered, another write lands
            response = invalidate(client, [{"kind": "entity", "subgraph": "products", "type": "Product",
                                            "key": {"upc": "9"}}])
            assert response.status_code == 200
        return _named_upcs(payload)

    tags["products"] = tag_and_race
    query(client, _product("1"))
    query(client, _product("1"))  # the first answer was not kept: fetched again, and kept this time
    query(client, _product("1"))
    assert _fetches(logs["products"], "1") == 2


def test_only_the_invalidated_tag_refetches_and_an_entity_invalidation_leaves_tagged_answers(
    client: httpx.Client, logs: dict[str, list[Any]], tags: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tags["products"] = _named_upcs
    for _ in range(3):
        query(client, _product("1"))
        query(client, _product("2"))
    assert _fetches(logs["products"], "1") == 1 and _fetches(logs["products"], "2") == 1
    monkeypatch.setitem(shop.PRODUCTS["1"], "name", "Desk")
    monkeypatch.setitem(shop.PRODUCTS["2"], "name", "Sofa")
    entity = [{"kind": "entity", "subgraph": "products", "type": "Product", "key": {"upc": "1"}}]
    assert invalidate(client, entity).status_code == 200
    assert query(client, _product("1"))["data"]["product"]["name"] == "Table"  # tagged: only its tags void it
    response = invalidate(client, _tag("product:1"))
    assert response.status_code == 200, response.text
    assert query(client, _product("1"))["data"]["product"]["name"] == "Desk"
    assert query(client, _product("2"))["data"]["product"]["name"] == "Couch"  # product:2 was not touched
    assert _fetches(logs["products"], "1") == 2 and _fetches(logs["products"], "2") == 1
    assert invalidate(client, {"kind": "subgraph", "subgraph": "products"}).status_code == 200
    assert query(client, _product("2"))["data"]["product"]["name"] == "Sofa"


def test_a_tag_invalidation_voids_the_untagged_answers_of_its_subgraph(
    client: httpx.Client, logs: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    query(client, TOP)
    monkeypatch.setitem(shop.PRODUCTS["1"], "price", 599)
    assert invalidate(client, _tag("anything")).status_code == 200
    assert query(client, TOP)["data"]["topProducts"][0]["price"] == 599


def test_a_response_mixing_tagged_and_untagged_fetches_goes_with_either(
    client: httpx.Client, logs: dict[str, list[Any]], tags: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tags["products"] = lambda _payload: "top"
    for _ in range(3):
        first = query(client, TOP)
    assert len(logs["products"]) == 1 and len(logs["inventory"]) == 1
    monkeypatch.setitem(shop.IN_STOCK, "2", True)  # inventory is untagged: its entity invalidation voids it
    entity = [{"kind": "entity", "subgraph": "inventory", "type": "Product", "key": {"upc": "2"}}]
    assert invalidate(client, entity).status_code == 200
    assert [p["inStock"] for p in query(client, TOP)["data"]["topProducts"]] == [True, True, True]
    assert len(logs["products"]) == 1  # its root fetch, tagged, was still cached
    assert [[r["upc"] for r in reps] for reps in representations(logs["inventory"])] == [["1", "2", "3"], ["2"]]
    assert query(client, TOP) != first


def _whole_response_hits() -> float:
    from prometheus_client import REGISTRY

    from gateway import metrics

    metrics.flush()  # the gateway runs in this process: its buffered counts, now
    return sum(REGISTRY.get_sample_value("gateway_cache_lookups_total", {"kind": kind, "result": "hit"}) or 0.0
               for kind in ("response", "response_local"))


def test_a_response_made_with_cached_tagged_entities_depends_on_their_tags(
    client: httpx.Client, logs: dict[str, list[Any]], tags: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached entity keeps its response's Cache-Tag: a whole response made with it outlives an
    invalidation of another tag of its subgraph, as one made with the entity freshly fetched does."""
    tags["inventory"] = lambda _payload: "stock"
    query(client, "{ topProducts(first: 2) { upc inStock } }")  # the entities are fetched and kept
    listing = "{ topProducts(first: 2) { upc name inStock } }"
    first = query(client, listing)  # a new root query; its entities come from the entity cache
    assert len(logs["inventory"]) == 1 and len(logs["products"]) == 2
    assert invalidate(client, [{"kind": "tag", "subgraph": "inventory", "tag": "other"}]).status_code == 200
    before = _whole_response_hits()
    assert query(client, listing) == first
    assert _whole_response_hits() == before + 1  # the whole response itself, not rebuilt from its parts
    monkeypatch.setitem(shop.IN_STOCK, "2", True)
    changed = [{"kind": "entity", "subgraph": "inventory", "type": "Product", "key": {"upc": "2"}},
               {"kind": "tag", "subgraph": "inventory", "tag": "stock"}]
    assert invalidate(client, changed).status_code == 200
    assert [p["inStock"] for p in query(client, listing)["data"]["topProducts"]] == [True, True]
    assert len(logs["products"]) == 2  # the root answers were untouched


def test_the_endpoint_refuses_a_bad_tag(client: httpx.Client) -> None:
    for tag in ("", "a,b", "x" * 201, 7):
        response = invalidate(client, [{"kind": "tag", "subgraph": "products", "tag": tag}])
        assert response.status_code == 400, tag
        assert "tag" in response.json()["errors"][0]["message"]


def test_a_tag_invalidation_at_one_instance_reaches_the_others_copies(
    setup: None, subgraphs: dict[str, str], logs: dict[str, list[Any]], redis_server_url: str,
    tags: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    tags["products"] = _named_upcs
    with _instance(subgraphs, redis_server_url) as (a, _), _instance(subgraphs, redis_server_url) as (b, _):
        for _ in range(3):
            assert query(a, _product("1"))["data"]["product"]["name"] == "Table"
        monkeypatch.setitem(shop.PRODUCTS["1"], "name", "Desk")
        assert invalidate(b, _tag("product:1")).status_code == 200
        _poll(lambda: query(a, _product("1"))["data"]["product"]["name"] == "Desk")
