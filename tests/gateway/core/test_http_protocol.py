"""GraphQL-over-HTTP behaviour of the server: status codes, bad input, GET, GraphiQL, health."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from . import shop
from .harness import RunningServer, gateway_app, serve

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    accounts = RunningServer(shop.accounts()).start()
    assets = tmp_path_factory.mktemp("no-graphiql")
    try:
        app = gateway_app(shop.SUPERGRAPH, {"accounts": accounts.url}, graphiql_assets_dir=str(assets))
        with serve(app) as gw:
            yield gw
    finally:
        accounts.stop()


@pytest.fixture()
def client(gateway: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=10) as c:
        yield c


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "BAD_REQUEST"),
        (b"\xff\xfe{}", "BAD_REQUEST"),
        (b"[1, 2]", "BAD_REQUEST"),
        (b"{}", "BAD_REQUEST"),
        (b'{"query": 42}', "BAD_REQUEST"),
        (b'{"query": "{ me { id } }", "variables": [1]}', "BAD_REQUEST"),
        (b'{"query": "{ me { id } }", "operationName": 3}', "BAD_REQUEST"),
        (b'{"query": "{ me { "}', "GRAPHQL_PARSE_FAILED"),
        (b'{"query": "{ nope }"}', "GRAPHQL_VALIDATION_FAILED"),
        (b'{"query": "{ secret }"}', "GRAPHQL_VALIDATION_FAILED"),
        (b'{"query": "query A { me { id } } query B { me { id } }"}', "BAD_REQUEST"),
        (b'{"query": "query A { me { id } }", "operationName": "B"}', "BAD_REQUEST"),
        (b'{"query": "query ($id: ID!) { user(id: $id) { id } }"}', "BAD_USER_INPUT"),
    ],
)
def test_bad_requests_are_4xx(client: httpx.Client, body: bytes, code: str) -> None:
    for accept in ("application/json", GRAPHQL_RESPONSE):
        r = client.post("/graphql", content=body, headers={"content-type": "application/json", "accept": accept})
        assert r.status_code == 400, r.text
        assert codes(r) == [code] or code in codes(r)
        assert r.headers["content-type"].startswith(accept)


def test_operation_name_selects_operation(client: httpx.Client) -> None:
    r = client.post("/graphql", json={"query": "query A { me { id } } query B { me { name } }", "operationName": "B"})
    assert r.json() == {"data": {"me": {"name": "Ada Lovelace"}}}


def test_get_query_and_mutation_over_get(client: httpx.Client) -> None:
    r = client.get(
        "/graphql", params={"query": "query ($id: ID!) { user(id: $id) { name } }", "variables": '{"id": "2"}'}
    )
    assert r.status_code == 200
    assert r.json() == {"data": {"user": {"name": "Alan Turing"}}}
    r = client.get("/graphql", params={"query": 'mutation { login(username: "ada") { id } }'})
    assert r.status_code == 405
    assert "POST" in r.headers["allow"]
    assert r.json()["errors"][0]["message"]


def test_graphql_response_json_media_type(client: httpx.Client) -> None:
    r = client.post("/graphql", json={"query": "{ me { id } }"}, headers={"accept": GRAPHQL_RESPONSE})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(GRAPHQL_RESPONSE)


def test_graphiql_without_assets_explains_install(client: httpx.Client) -> None:
    r = client.get("/graphql", headers={"accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    assert "GraphiQL is not installed" in r.text
    assert client.get("/graphiql/assets/graphiql/graphiql.min.js").status_code == 404


def test_graphiql_with_assets(tmp_path: Path) -> None:
    from gateway.graphiql.assets import SERVED

    for name in SERVED:
        target = tmp_path / "node_modules" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("/* asset */")
    (tmp_path / "node_modules" / "secret.txt").write_text("no")
    app = gateway_app(shop.SUPERGRAPH, {}, graphiql_assets_dir=str(tmp_path))
    transport = httpx.ASGITransport(app=app)

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            page = await c.get("/graphql", headers={"accept": "text/html"})
            assert page.status_code == 200
            assert "/graphiql/assets/graphiql/graphiql.min.js" in page.text
            assert (await c.get("/graphiql")).status_code == 200
            asset = await c.get("/graphiql/assets/graphiql/graphiql.min.js")
            assert asset.status_code == 200
            assert asset.text == "/* asset */"
            assert (await c.get("/graphiql/assets/secret.txt")).status_code == 404
            assert (await c.get("/graphiql/assets/../node_modules/secret.txt")).status_code == 404

    import asyncio

    asyncio.run(run())


def test_subscription_over_post_is_refused(tmp_path: Path) -> None:
    sdl = shop.SUPERGRAPH.replace("  mutation: Mutation\n", "  mutation: Mutation\n  subscription: Subscription\n")
    sdl += "\ntype Subscription @join__type(graph: ACCOUNTS) { ticks: Int @join__field(graph: ACCOUNTS) }\n"
    app = gateway_app(sdl, {})
    transport = httpx.ASGITransport(app=app)

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            r = await c.post("/graphql", json={"query": "subscription { ticks }"})
            assert r.status_code == 400
            assert "Subscriptions" in r.json()["errors"][0]["message"]

    import asyncio

    asyncio.run(run())


def test_unknown_path_and_method(client: httpx.Client) -> None:
    assert client.get("/nope").status_code == 404
    assert client.put("/graphql", json={}).status_code == 405
