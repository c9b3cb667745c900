"""The explorer page, its assets allowlist, the examples, and the installer's idempotency check."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from starlette.applications import Starlette

from gateway.auth import decode_dev_token
from gateway.config import Settings
from gateway.graphiql import GraphiQL, build_explorer_html, graphiql_routes, load_examples, wants_html
from gateway.graphiql.assets import SERVED
from gateway.graphiql.dev_token import EXPLORER_SUBJECT
from gateway.graphiql.examples import DEFAULT_EXAMPLES_DIR, parse_example
from gateway.server import create_app
from scripts.install_graphiql import PINNED
from scripts.npm_pinned import missing_packages, npm_command
from subgraphs.orders.domain import order_id_for
from subgraphs.products.demo import demo_specs
from tests.gateway.core import shop


def fake_assets(root: Path) -> Path:
    for name in SERVED:
        target = root / "node_modules" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"/* {name} */")
    (root / "node_modules" / "graphiql" / "package.json").write_text('{"version": "0"}')
    return root


def client_for(assets_dir: Path) -> httpx.AsyncClient:
    app = Starlette(routes=graphiql_routes(assets_dir))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def test_page_references_only_local_assets(tmp_path: Path) -> None:
    async with client_for(fake_assets(tmp_path)) as client:
        page = await client.get("/graphiql")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "https://" not in page.text and "http://" not in page.text
        for name in SERVED:
            assert f"/graphiql/assets/{name}" in page.text
            asset = await client.get(f"/graphiql/assets/{name}")
            assert asset.status_code == 200 and asset.text == f"/* {name} */"
        assert (await client.get("/graphiql/assets/explorer.js")).text.startswith("// Starts GraphiQL")
        # the rest of node_modules is not reachable
        assert (await client.get("/graphiql/assets/graphiql/package.json")).status_code == 404
        assert (await client.get("/graphiql/assets/../../etc/passwd")).status_code == 404


async def test_missing_assets_page_explains_setup(tmp_path: Path) -> None:
    async with client_for(tmp_path / "absent") as client:
        page = await client.get("/graphiql")
    assert page.status_code == 503
    assert "make setup" in page.text and "python -m scripts.install_graphiql" in page.text
    assert "graphiql/graphiql.min.js" in page.text


def test_examples_become_tabs_with_variables() -> None:
    examples = load_examples(DEFAULT_EXAMPLES_DIR)
    titles = [e.title for e in examples]
    assert titles[0] == "Browse products"
    assert any("subscription" in e.query for e in examples)
    assert any("mutation" in e.query for e in examples)
    html = build_explorer_html(endpoint="/graphql", assets_prefix="/graphiql/assets", examples=examples)
    config_text = html.split('<script id="graphiql-config" type="application/json">')[1].split("</script>")[0]
    config = json.loads(config_text)
    assert config["endpoint"] == "/graphql"
    assert [tab["query"] for tab in config["tabs"]] == [e.query for e in examples]


def test_example_parsing_and_script_safe_json() -> None:
    example = parse_example('# Title here\n# variables: {"id": "1"}\n# headers: {"A": "b"}\nquery Q { a }', "f")
    assert example.title == "Title here"
    assert json.loads(example.variables or "") == {"id": "1"}
    assert json.loads(example.tab()["headers"]) == {"A": "b"}
    html = build_explorer_html(
        endpoint="/graphql", assets_prefix="/a", examples=[parse_example("query { a } # </script>", "x")]
    )
    assert html.count("</script>") == html.count("<script")


def test_graphiql_page_html_status(tmp_path: Path) -> None:
    assert GraphiQL(tmp_path).html()[0] == 503
    assert GraphiQL(fake_assets(tmp_path)).html()[0] == 200


def test_installer_knows_what_is_missing(tmp_path: Path) -> None:
    assert missing_packages(tmp_path, PINNED) == dict(PINNED)
    for name, version in PINNED.items():
        manifest = tmp_path / "node_modules" / name / "package.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({"version": version}))
    assert missing_packages(tmp_path, PINNED) == {}
    (tmp_path / "node_modules" / "react" / "package.json").write_text('{"version": "17.0.0"}')
    assert missing_packages(tmp_path, PINNED) == {"react": PINNED["react"]}
    command = npm_command(tmp_path, PINNED)
    assert command[:4] == ["npm", "install", "--prefix", str(tmp_path)]
    assert "--no-audit" in command and "--no-fund" in command
    assert all(f"{n}@{v}" in command for n, v in PINNED.items())


def test_wants_html_only_for_browser_navigation() -> None:
    from starlette.requests import Request

    def request(method: str, accept: str, query: str = "") -> Request:
        headers = [(b"accept", accept.encode())]
        return Request({"type": "http", "method": method, "headers": headers, "query_string": query.encode()})

    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert wants_html(request("GET", browser))
    assert not wants_html(request("GET", browser, "query=%7Bx%7D"))
    assert not wants_html(request("POST", browser))
    assert not wants_html(request("GET", "application/json"))


EDITOR_WIDTH = 80  # characters the query editor shows without scrolling at a usual window size


def test_shipped_examples_are_runnable_as_they_are() -> None:
    examples = load_examples(DEFAULT_EXAMPLES_DIR)
    assert len(examples) >= 6
    for example in examples:
        for line in example.query.splitlines():
            assert len(line) <= EDITOR_WIDTH, (example.title, line)
        assert "# variables:" not in example.query and "# headers:" not in example.query
        assert "<" not in example.query + (example.variables or ""), f"a placeholder left in {example.title}"
        if example.variables is not None:
            assert isinstance(json.loads(example.variables), dict), example.title
        assert example.headers is None, "tokens come from the explorer itself (development), not the files"


def test_example_ids_are_the_demo_catalog_and_the_order_it_places() -> None:

    products = {pid: spec for pid, _created, spec, _vids in demo_specs()}
    skus = {v.sku: v.on_hand for spec in products.values() for v in spec.variants}
    variables = {e.title: json.loads(e.variables) for e in load_examples(DEFAULT_EXAMPLES_DIR) if e.variables}
    assert variables["Product by id"]["id"] in products
    place = variables["Place an order"]
    assert all(skus.get(line["sku"], 0) >= line["quantity"] for line in place["input"]["lines"])
    order_id = order_id_for(EXPLORER_SUBJECT, place["key"])
    assert variables["Order status subscription"]["orderId"] == order_id
    assert variables["Order page, notifications deferred"]["orderId"] == order_id


async def test_root_redirects_to_the_explorer_and_development_prefills_a_token(tmp_path: Path) -> None:

    assets = str(fake_assets(tmp_path))
    dev = create_app(Settings(supergraph_sdl=shop.SUPERGRAPH, graphiql_assets_dir=assets, jwt_secret="k"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=dev), base_url="http://gw") as client:
        root = await client.get("/")
        assert root.status_code == 302 and root.headers["location"] == "/graphiql"
        assert (await client.head("/")).status_code == 302
        assert (await client.post("/", json={})).status_code == 404
        page = await client.get("/", follow_redirects=True)
    config = json.loads(page.text.split('type="application/json">')[1].split("</script>")[0])
    token = json.loads(config["defaultHeaders"])["Authorization"].removeprefix("Bearer ")
    claims = decode_dev_token(token, "k")
    assert claims["sub"] == "alice" and claims["email"] == "alice@example.com"
    assert all(json.loads(tab["headers"]) == json.loads(config["defaultHeaders"]) for tab in config["tabs"])

    prod = Settings(supergraph_sdl=shop.SUPERGRAPH, graphiql_assets_dir=assets, jwt_secret="k" * 40,
                    app_env="production", graphiql_enabled=True, subgraph_shared_secret="s" * 40,
                    jwt_issuer="https://id.example", jwt_audience="shop")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(prod)), base_url="http://gw") as client:
        page = await client.get("/", follow_redirects=True)
    assert page.status_code == 200 and "defaultHeaders" not in page.text and "Bearer" not in page.text
    closed = Settings(supergraph_sdl=shop.SUPERGRAPH, graphiql_assets_dir=assets, graphiql_enabled=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(closed)), base_url="http://gw") as client:
        assert (await client.get("/")).status_code == 404
