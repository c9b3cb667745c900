"""Abuse of the gateway's front door, over real HTTP, SSE and WebSocket against a real gateway process.

One Strawberry subgraph (a tiny shop: products with variants, a cart) runs on loopback; the gateway
runs as its own process (`python -m gateway serve`), as deployed, so the stall measurement is not
muddled by the test's own threads. Every case of the abuse report is refused with its code, before
any subgraph fetch (the subgraph counts the requests it gets).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import strawberry
from strawberry.asgi import GraphQL
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.composition import SubgraphSource, compose
from tests.gateway.core.harness import RunningServer, free_port, gateway_app, serve

ROOT = Path(__file__).resolve().parents[2]


# --- the shop subgraph ----------------------------------------------------------------------
@dataclass
class ShopState:
    cart: list[str]
    requests: int = 0


STATE = ShopState(cart=["sku-1", "sku-2"])


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str

    @strawberry.field
    def variants(self) -> list[Variant]:
        return [Variant(sku=f"{self.id}-{n}", product_id=str(self.id)) for n in range(3)]


@strawberry.type
class Variant:
    sku: str
    product_id: strawberry.Private[str]

    @strawberry.field
    def product(self) -> Product:
        return Product(id=strawberry.ID(self.product_id), name=f"Product {self.product_id}")


@strawberry.type
class ProductEdge:
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]


@strawberry.type
class Cart:
    lines: list[str]


@strawberry.type
class Query:
    @strawberry.field
    def products(self, first: int = 10) -> ProductConnection:
        return ProductConnection(
            edges=[ProductEdge(node=Product(id=strawberry.ID(str(n)), name=f"Product {n}")) for n in range(first)]
        )

    @strawberry.field
    def variant(self, sku: str) -> Variant:
        return Variant(sku=sku, product_id=sku.split("-")[0])

    @strawberry.field
    def cart(self) -> Cart:
        return Cart(lines=list(STATE.cart))

    @strawberry.field
    def ping(self) -> str:
        return "pong"


@strawberry.type
class Mutation:
    @strawberry.mutation
    def clear_cart(self) -> Cart:
        STATE.cart.clear()
        return Cart(lines=[])


SCHEMA = strawberry.federation.Schema(query=Query, mutation=Mutation)


class CountingApp:
    """The subgraph app, counting the HTTP requests that reach it."""

    def __init__(self) -> None:
        self.app = GraphQL(SCHEMA)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            STATE.requests += 1
        await self.app(scope, receive, send)


# --- the gateway process ----------------------------------------------------------------------
@dataclass
class Gateway:
    url: str
    process: subprocess.Popen[bytes]


def start_gateway(
    supergraph: Path, subgraph_url: str, log: Path, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> Gateway:
    """`python -m gateway serve` from `cwd` (a checkout) on a free port; waits until it answers."""
    port = free_port()
    env = {**os.environ, "SUBGRAPH_URLS": f"shop={subgraph_url}", "PYTHONPATH": str(cwd), **(env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--supergraph", str(supergraph), "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return Gateway(url, process)
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the gateway did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def stop_gateway(gateway: Gateway) -> None:
    gateway.process.terminate()
    try:
        gateway.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        gateway.process.wait(timeout=10)


def shop_supergraph(folder: Path, subgraph_url: str) -> Path:
    sdl = SCHEMA.execute_sync("{ _service { sdl } }").data["_service"]["sdl"]  # type: ignore[index]
    path = folder / "supergraph.graphql"
    path.write_text(compose([SubgraphSource("shop", subgraph_url, sdl)]))
    return path


@pytest.fixture(scope="module")
def subgraph() -> Iterator[RunningServer]:
    server = RunningServer(CountingApp()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(subgraph: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    folder = tmp_path_factory.mktemp("abuse")
    running = start_gateway(
        shop_supergraph(folder, subgraph.url + "/graphql"), subgraph.url + "/graphql", folder / "gw.log"
    )
    yield running
    stop_gateway(running)


@pytest.fixture()
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=15) as c:
        yield c


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code, error
    return dict(error["extensions"])


def post(client: httpx.Client, query: str, **extra: Any) -> httpx.Response:
    return client.post("/graphql", json={"query": query, **extra})


# --- operation limits --------------------------------------------------------------------------
def test_the_repo_examples_and_introspection_pass(client: httpx.Client) -> None:
    from graphql import get_introspection_query

    r = post(client, get_introspection_query(descriptions=True, input_value_deprecation=True))
    assert r.status_code == 200 and r.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    r = post(
        client,
        "query Browse($first: Int = 10) { products(first: $first) { edges { node { id name variants { sku } } } } }",
    )
    assert r.status_code == 200 and len(r.json()["data"]["products"]["edges"]) == 10


def test_two_thousand_aliases_are_refused_before_any_fetch(client: httpx.Client) -> None:
    before = STATE.requests
    query = "{ " + " ".join(f"a{i}: ping" for i in range(2000)) + " }"
    started = time.monotonic()
    extensions = refused(post(client, query), 400, "MAX_ALIASES_EXCEEDED")
    assert time.monotonic() - started < 2
    assert extensions["limit"] == 30 and extensions["measured"] == 2000
    assert STATE.requests == before


def test_many_big_lists_are_too_expensive(client: httpx.Client) -> None:
    before = STATE.requests
    page = "products(first: 100) { edges { node { id name variants { sku } } } }"
    refused(post(client, "{ " + " ".join(f"p{i}: {page}" for i in range(50)) + " }"), 400, "MAX_ALIASES_EXCEEDED")
    query = "{ " + " ".join(f"p{i}: {page}" for i in range(10)) + " }"
    extensions = refused(post(client, query), 400, "COST_ESTIMATED_TOO_EXPENSIVE")
    # each page: the connection 1 + 100 edges x (edge 1 + node 1 + 10 assumed variants x 1)
    assert extensions["measured"] == 10 * 1201 and extensions["limit"] == 10_000
    assert post(client, "{ " + page + " }").status_code == 200
    assert STATE.requests == before + 1


def test_a_variable_slicing_argument_is_costed_with_the_request_value(client: httpx.Client) -> None:
    query = "query Q($n: Int!) { products(first: $n) { edges { node { id variants { sku } } } } }"
    ok = post(client, query, variables={"n": 5})
    assert ok.status_code == 200 and len(ok.json()["data"]["products"]["edges"]) == 5
    extensions = refused(post(client, query, variables={"n": 100_000}), 400, "COST_ESTIMATED_TOO_EXPENSIVE")
    assert extensions["measured"] > 1_000_000


def test_a_fragment_bomb_is_refused_quickly(client: httpx.Client) -> None:
    parts = ["fragment F0 on Product { id name variants { sku } }"]
    parts += [f"fragment F{i} on Product {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 200)]
    query = "{ products(first: 1) { edges { node { ...F199 } } } }\n" + "\n".join(parts)
    started = time.monotonic()
    extensions = refused(post(client, query), 400, "MAX_FIELDS_EXCEEDED")
    assert extensions["measured"] == 2**53 - 1  # 3 + 4 * 2**199, reported as the largest exact JSON integer
    assert time.monotonic() - started < 2


def test_deep_nesting_is_refused(client: httpx.Client) -> None:
    inner = "sku"
    for _ in range(7):
        inner = f"sku product {{ id variants {{ {inner} }} }}"
    refused(post(client, f'{{ variant(sku: "1-0") {{ {inner} }} }}'), 400, "COST_ESTIMATED_TOO_EXPENSIVE")
    deeper = "sku"
    for _ in range(12):
        deeper = f"product {{ variants {{ {deeper} }} }}"
    extensions = refused(post(client, f'{{ variant(sku: "1-0") {{ {deeper} }} }}'), 400, "MAX_DEPTH_EXCEEDED")
    assert extensions["measured"] == 26


def test_too_many_root_fields(client: httpx.Client) -> None:
    query = "{ " + " ".join(["ping"] * 21) + " }"
    assert refused(post(client, query), 400, "MAX_ROOT_FIELDS_EXCEEDED")["measured"] == 21


def test_a_huge_document_stops_at_the_token_limit(client: httpx.Client) -> None:
    query = "{ " + "ping " * 40_000 + "}"
    started = time.monotonic()
    assert refused(post(client, query), 400, "MAX_TOKENS_EXCEEDED")["limit"] == 15_000
    assert time.monotonic() - started < 2


def test_a_body_over_two_megabytes_is_refused(client: httpx.Client) -> None:
    body = orjson.dumps({"query": "{ ping }", "variables": {"pad": "x" * 3_000_000}})
    r = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert refused(r, 413, "PAYLOAD_TOO_LARGE")["limit"] == 2_000_000


def test_a_repeated_refusal_is_answered_from_the_cache(client: httpx.Client) -> None:
    query = "{ " + " ".join(f"r{i}: ping" for i in range(40)) + " }"
    refused(post(client, query), 400, "MAX_ALIASES_EXCEEDED")
    refused(post(client, query), 400, "MAX_ALIASES_EXCEEDED")


# --- SSE goes through the same rules ----------------------------------------------------------
def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    events = []
    for block in response.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], orjson.loads(lines["data"]) if lines.get("data") else None))
    return events


def test_an_sse_get_mutation_is_refused_and_the_cart_kept(client: httpx.Client) -> None:
    STATE.cart[:] = ["sku-1", "sku-2"]
    r = client.get(
        "/graphql", params={"query": "mutation { clearCart { lines } }"}, headers={"accept": "text/event-stream"}
    )
    events = sse_events(r)
    assert events[0][0] == "next"
    assert events[0][1]["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "POST" in events[0][1]["errors"][0]["message"]
    assert STATE.cart == ["sku-1", "sku-2"]
    # a query over the same GET SSE route still works
    r = client.get("/graphql", params={"query": "{ cart { lines } }"}, headers={"accept": "text/event-stream"})
    assert sse_events(r)[0][1] == {"data": {"cart": {"lines": ["sku-1", "sku-2"]}}}


def test_an_sse_text_plain_post_is_refused(client: httpx.Client) -> None:
    STATE.cart[:] = ["sku-1"]
    r = client.post(
        "/graphql",
        content=orjson.dumps({"query": "mutation { clearCart { lines } }"}),
        headers={"accept": "text/event-stream", "content-type": "text/plain"},
    )
    refused(r, 415, "BAD_REQUEST")
    assert STATE.cart == ["sku-1"]


def test_sse_applies_the_operation_and_size_limits(client: httpx.Client) -> None:
    query = "{ " + " ".join(f"a{i}: ping" for i in range(50)) + " }"
    r = client.post("/graphql", json={"query": query}, headers={"accept": "text/event-stream"})
    assert sse_events(r)[0][1]["errors"][0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
    body = orjson.dumps({"query": "{ ping }", "variables": {"pad": "x" * 3_000_000}})
    r = client.post(
        "/graphql", content=body, headers={"accept": "text/event-stream", "content-type": "application/json"}
    )
    refused(r, 413, "PAYLOAD_TOO_LARGE")


# --- WebSocket, both subprotocols ---------------------------------------------------------------
async def ws_errors(url: str, protocol: str, query: str) -> Any:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=[Subprotocol(protocol)], max_size=None) as ws:
        await ws.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
        assert orjson.loads(await ws.recv())["type"] == "connection_ack"
        start = "subscribe" if protocol == "graphql-transport-ws" else "start"
        await ws.send(orjson.dumps({"type": start, "id": "1", "payload": {"query": query}}).decode())
        while True:
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] != "ka":
                return message


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_websocket_operations_meet_the_same_limits(gateway: Gateway, protocol: str) -> None:
    query = "{ " + " ".join(f"a{i}: ping" for i in range(50)) + " }"
    message = await ws_errors(gateway.url, protocol, query)
    assert message["type"] == "error"
    errors = message["payload"] if isinstance(message["payload"], list) else [message["payload"]]
    assert errors[0]["extensions"]["code"] == "MAX_ALIASES_EXCEEDED"
    message = await ws_errors(gateway.url, protocol, "{ " + "ping " * 40_000 + "}")
    errors = message["payload"] if isinstance(message["payload"], list) else [message["payload"]]
    assert errors[0]["extensions"]["code"] == "MAX_TOKENS_EXCEEDED"


async def test_a_websocket_message_over_the_size_limit_closes_the_connection(gateway: Gateway) -> None:
    ws_url = gateway.url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None) as ws:
        await ws.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
        await ws.recv()
        await ws.send(
            orjson.dumps(
                {"type": "subscribe", "id": "1", "payload": {"query": "{ ping }", "variables": {"x": "y" * 2_100_000}}}
            ).decode()
        )
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


# --- no client stalls the others -----------------------------------------------------------------
def heavy_document(salt: str, operations: int = 780) -> tuple[str, str]:
    """14,820 tokens (19 an operation) of valid operations (and the name of one): within every limit, but
    parsing and validating it costs much more than a cached query."""
    document = "\n".join(
        f"query Q{salt}x{i} {{ products(first: {i % 3 + 1}) {{ edges {{ node {{ id }} }} }} }}"
        for i in range(operations)
    )
    return document, f"Q{salt}x0"


async def measure_stall(url: str, seconds: float = 6.0, heavy_clients: int = 4) -> dict[str, float]:
    """Latency of a cheap cached query from one client while `heavy_clients` send fresh heavy documents."""
    cheap = {"query": "{ ping }"}
    latencies: list[float] = []
    stop = asyncio.Event()
    sent = 0

    async def heavy(n: int, http: httpx.AsyncClient) -> None:
        nonlocal sent
        k = 0
        while not stop.is_set():
            k += 1
            document, name = heavy_document(f"{n}_{k}_{time.monotonic_ns()}")
            with contextlib.suppress(httpx.HTTPError):  # on a stalled gateway: timed out
                await http.post("/graphql", json={"query": document, "operationName": name})
            sent += 1

    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        await http.post("/graphql", json=cheap)  # cached from here on
        workers = [asyncio.create_task(heavy(n, http)) for n in range(heavy_clients)]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(latencies) < 400:
            started = time.monotonic()
            r = await http.post("/graphql", json=cheap)
            latencies.append(time.monotonic() - started)
            assert r.status_code == 200 and r.json() == {"data": {"ping": "pong"}}, r.text[:300]
            await asyncio.sleep(0.01)  # pacing of the cheap client, not synchronisation
        stop.set()
        await asyncio.gather(*workers)
    return {"p50": statistics.median(latencies), "max": max(latencies), "samples": len(latencies), "heavy": sent}


async def test_fresh_heavy_documents_do_not_stall_a_cached_query(gateway: Gateway) -> None:
    result = await measure_stall(gateway.url)
    assert result["heavy"] >= 4  # the heavy documents were really sent meanwhile, and executed:
    document, name = heavy_document("check")
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        r = await http.post("/graphql", json={"query": document, "operationName": name})
    assert r.status_code == 200 and r.json() == {"data": {"products": {"edges": [{"node": {"id": "0"}}]}}}
    assert result["max"] < 1.0, result


async def test_fresh_documents_beyond_the_queue_are_refused_with_503(subgraph: RunningServer, tmp_path: Path) -> None:
    url = subgraph.url + "/graphql"
    env = {"GATEWAY_PREPARE_WORKERS": "1", "GATEWAY_PREPARE_QUEUE": "0"}
    running = start_gateway(shop_supergraph(tmp_path, url), url, tmp_path / "gw.log", env=env)
    try:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
            documents = [heavy_document(f"queue{n}") for n in range(4)]
            responses = await asyncio.gather(
                *(http.post("/graphql", json={"query": d, "operationName": name}) for d, name in documents)
            )
            statuses = sorted(r.status_code for r in responses)
            assert statuses[0] == 200, statuses  # one worker, no queue: the first is prepared
            busy = [r for r in responses if r.status_code == 503]
            assert busy, statuses
            assert busy[0].json()["errors"][0]["extensions"]["code"] == "PREPARE_QUEUE_FULL"
            # the refusal is not cached: the same document is prepared once a worker is free
            again = await http.post("/graphql", json={"query": documents[0][0], "operationName": documents[0][1]})
            assert again.status_code == 200
            cached = await http.post("/graphql", json={"query": "{ ping }"})
            assert cached.status_code == 200
    finally:
        stop_gateway(running)


# --- @cost / @listSize from the subgraphs reach the estimate ------------------------------------
COSTED_SHOP_SDL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])
type Query {
  products(first: Int! = 10): ProductConnection! @listSize(slicingArguments: ["first"], sizedFields: ["edges"])
  ping: String!
}
type ProductConnection { edges: [ProductEdge!]! }
type ProductEdge { node: Product! }
type Product @key(fields: "id") { id: ID! name: String! variants: [Variant!]! @listSize(assumedSize: 2) }
type Variant @cost(weight: 50) { sku: String! }
"""


def test_cost_directives_are_composed_and_used(subgraph: RunningServer) -> None:
    supergraph = compose([SubgraphSource("shop", subgraph.url + "/graphql", COSTED_SHOP_SDL)])
    assert "@listSize(assumedSize: 2)" in supergraph and "@cost(weight: 50)" in supergraph
    app = gateway_app(supergraph, {"shop": subgraph.url + "/graphql"})
    with serve(app) as gw, httpx.Client(base_url=gw.url, timeout=15) as http:
        query = "query($n: Int!) { products(first: $n) { edges { node { variants { sku } } } } }"
        # 1 + 100 edges x (edge 1 + node 1 + 2 variants x 50)
        r = post(http, query, variables={"n": 100})
        assert refused(r, 400, "COST_ESTIMATED_TOO_EXPENSIVE")["measured"] == 10_201
        r = post(http, query, variables={"n": 5})
        assert r.status_code == 200 and len(r.json()["data"]["products"]["edges"]) == 5
