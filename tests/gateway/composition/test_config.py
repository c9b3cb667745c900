"""Loading Rover supergraph configs: schema from file, inline sdl, or a running subgraph's _service."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.composition import CompositionError, compose_config, load_supergraph_config

from .fixtures import fed2

PRODUCTS_SDL = fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! name: String }', "@key")
REVIEWS_SDL = fed2('type Product @key(fields: "id") { id: ID! stars: Int }', "@key")


class _SdlHandler(BaseHTTPRequestHandler):
    sdl = REVIEWS_SDL

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length))
        assert "_service" in body["query"]
        payload = json.dumps({"data": {"_service": {"sdl": self.sdl}}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def subgraph_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SdlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/graphql"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/graphql"


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "supergraph.yaml"
    path.write_text(text)
    return str(path)


def test_schema_from_file_relative_to_config_and_inline_sdl(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "products.graphql").write_text(PRODUCTS_SDL)
    config = _write(
        tmp_path,
        "federation_version: =2.9.0\n"
        "subgraphs:\n"
        "  products:\n"
        "    routing_url: http://products:4001/graphql\n"
        "    schema:\n"
        "      file: ./schemas/products.graphql\n"
        "  reviews:\n"
        "    routing_url: http://reviews:4002/graphql\n"
        "    schema:\n"
        f"      sdl: {json.dumps(REVIEWS_SDL)}\n",
    )
    loaded = load_supergraph_config(config)
    assert [(s.name, s.url) for s in loaded] == [
        ("products", "http://products:4001/graphql"),
        ("reviews", "http://reviews:4002/graphql"),
    ]
    assert loaded[0].sdl == PRODUCTS_SDL and loaded[1].sdl == REVIEWS_SDL
    supergraph = compose_config(config)
    assert 'REVIEWS @join__graph(name: "reviews", url: "http://reviews:4002/graphql")' in supergraph


def test_schema_from_subgraph_url(tmp_path: Path, subgraph_server: str) -> None:
    config = _write(
        tmp_path,
        "subgraphs:\n"
        "  reviews:\n"
        "    routing_url: http://reviews:4002/graphql\n"
        "    schema:\n"
        f"      subgraph_url: {subgraph_server}\n",
    )
    [reviews] = load_supergraph_config(config)
    assert reviews.sdl == REVIEWS_SDL and reviews.url == "http://reviews:4002/graphql"


def test_unreachable_subgraph_url_is_a_config_error(tmp_path: Path) -> None:
    url = _closed_port_url()
    config = _write(tmp_path, f"subgraphs:\n  r:\n    routing_url: http://r\n    schema:\n      subgraph_url: {url}\n")
    with pytest.raises(CompositionError) as info:
        load_supergraph_config(config)
    issue = info.value.issues[0]
    assert issue.code == "CONFIG_ERROR" and issue.subgraphs == ["r"]
    assert f"cannot reach {url}" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subgraphs: {}\n", "at least one subgraph"),
        ("- just a list\n", "must be a mapping"),
        ("subgraphs:\n  a:\n    routing_url: http://a\n", 'missing "schema"'),
        ("subgraphs:\n  a:\n    schema:\n      sdl: 'type Query { x: Int }'\n", 'missing "routing_url"'),
        ("subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      file: nope.graphql\n", "cannot read schema"),
        ("subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      other: x\n", "needs one of"),
        ("federation_version: =1\nsubgraphs:\n  a: {}\n", "unsupported federation_version"),
        ("subgraphs: [\n", "not valid YAML"),
    ],
)
def test_bad_configs_are_config_errors(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(CompositionError) as info:
        load_supergraph_config(_write(tmp_path, text))
    assert info.value.issues[0].code == "CONFIG_ERROR"
    assert expected in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(CompositionError) as info:
        compose_config(str(tmp_path / "absent.yaml"))
    assert "cannot read supergraph config" in str(info.value)
