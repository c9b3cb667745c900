"""One shop stack for the differential tests, and the other gateways in front of its subgraphs
(package-scoped: stopped once the package's tests are done, not at the end of the whole run).

The stack's subgraphs are open (no SUBGRAPH_SHARED_SECRET, as `make dev` runs them): the other
gateways do not sign our internal header (docs/gateway.md, "Running the shop behind other gateways").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, OperationDefinitionNode, parse

from gateway.composition import SubgraphSource, compose
from gateway.composition.config import fetch_subgraph_sdl
from gateway.graphiql.examples import load_examples
from gateway.supergraph import build_api_schema
from scripts.stack import Stack, subgraph_names
from tests.support.reference_tools import apollo_gateway_unavailable, composer_unavailable, grafbase_unavailable

from . import gateways
from .gateways import GatewayProcess, apollo_gateway, grafbase_gateway
from .shop import JourneyRun, ShopClient, shop_journey, shopper_token


@dataclass
class Shop:
    stack: Stack
    sdls: dict[str, str]
    urls: dict[str, str]
    supergraph: Path
    workdir: Path

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    @cached_property
    def api_schema(self) -> GraphQLSchema:
        return build_api_schema(self.supergraph.read_text())


@pytest.fixture(scope="package")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    apollo_reason, grafbase_reason = apollo_gateway_unavailable(), grafbase_unavailable()
    if apollo_reason and grafbase_reason:  # nothing to compare with: do not start the stack
        pytest.skip(f"no other gateway to compare with: {apollo_reason}; {grafbase_reason}")
    workdir = tmp_path_factory.mktemp("differential")
    # Open even when the environment has a secret (SUBGRAPH_SHARED_SECRET="" is "none").
    stack = Stack.on_free_ports(open_subgraphs=True, log_dir=workdir / "logs",
                                env={"NOTIFICATIONS_MAILDIR": str(workdir / "mail"), "SUBGRAPH_SHARED_SECRET": ""})
    try:
        stack.start()
    except RuntimeError as exc:
        pytest.fail(f"the stack did not start: {exc}")
    try:
        urls = {name: f"{stack.url(name)}/graphql" for name in subgraph_names()}
        sdls = {name: fetch_subgraph_sdl(name, url) for name, url in urls.items()}
        supergraph = workdir / "supergraph.graphql"
        supergraph.write_text(compose([SubgraphSource(name=n, url=urls[n], sdl=sdls[n]) for n in urls]))
        yield Shop(stack, sdls, urls, supergraph, workdir)
    finally:
        stack.stop()


def _started(process: GatewayProcess) -> Iterator[GatewayProcess]:
    try:
        process.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="package")
def apollo(shop: Shop) -> Iterator[GatewayProcess]:
    reason = apollo_gateway_unavailable()
    if reason:
        pytest.skip(reason)
    yield from _started(apollo_gateway(shop.supergraph, shop.workdir))


@pytest.fixture(scope="package")
def reference_supergraph(shop: Shop) -> str:
    """The supergraph @apollo/composition makes of the shop's subgraphs."""
    reason = composer_unavailable()
    if reason:
        pytest.skip(reason)
    try:
        return gateways.reference_supergraph(shop.sdls, shop.urls)
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="package")
def apollo_on_reference(shop: Shop, reference_supergraph: str) -> Iterator[GatewayProcess]:
    """@apollo/gateway on the reference composer's supergraph."""
    reason = apollo_gateway_unavailable()
    if reason:
        pytest.skip(reason)
    path = shop.workdir / "reference-supergraph.graphql"
    path.write_text(reference_supergraph)
    yield from _started(apollo_gateway(path, shop.workdir, "@apollo/gateway on the reference supergraph"))


@pytest.fixture(scope="package")
def grafbase(shop: Shop) -> Iterator[GatewayProcess]:
    reason = grafbase_unavailable()
    if reason:
        pytest.skip(reason)
    workdir = shop.workdir / "grafbase"
    workdir.mkdir()
    yield from _started(grafbase_gateway(shop.sdls, shop.urls, workdir))


def operation_name(document: str) -> str:
    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name:
            return definition.name.value
    raise ValueError("an example without an operation name")


@pytest.fixture(scope="package")
def examples() -> dict[str, str]:
    """The explorer's example operations (gateway/graphiql/examples/) by operation name."""
    return {operation_name(example.query): example.query for example in load_examples()}


@pytest.fixture(scope="package")
def skus(shop: Shop) -> tuple[str, str]:
    """Two SKUs with stock for several journeys: one ordered and paid, one ordered and declined."""
    client = ShopClient(shop.gateway_url)
    try:
        data = client.data("{ products(first: 50, filter: {inStock: true}, sortBy: NAME) "
                           "{ nodes { variants { sku price { currency } stock { available } } } } }")
    finally:
        client.close()
    plenty = [v for p in data["products"]["nodes"] for v in p["variants"] if v["stock"]["available"] >= 20]
    assert plenty, "the demo catalog has no variant with 20 in stock"
    same = [v["sku"] for v in plenty if v["price"]["currency"] == plenty[0]["price"]["currency"]]
    assert len(same) >= 2, "the demo catalog has fewer than two variants with 20 in stock in one currency"
    return same[0], same[1]


@dataclass
class Reader:
    """A shopper who did the journey through our gateway, and what it left to read."""

    token: str
    journey: JourneyRun
    examples: dict[str, Any]


@pytest.fixture(scope="package")
def reader(shop: Shop, skus: tuple[str, str], examples: dict[str, str]) -> Reader:
    token = shopper_token("diff-reader")
    client = ShopClient(shop.gateway_url, token, ws_url=shop.gateway_url.replace("http", "ws", 1))
    anonymous = ShopClient(shop.gateway_url)
    try:
        journey = shop_journey(client, anonymous, skus, examples)
        mine = client.data("{ me { orders(first: 5) { edges { node { id payments { id } "
                           "notifications { id } lines { product { id slug } } } } } } }")
    finally:
        client.close()
        anonymous.close()
    order = next(e["node"] for e in mine["me"]["orders"]["edges"] if e["node"]["payments"])
    product = order["lines"][0]["product"]
    values = {
        "Query.order.id": order["id"],
        "Query.payment.id": order["payments"][0]["id"],
        "Query.notification.id": order["notifications"][0]["id"],
        "Query.product.id": product["id"],
        "slug": product["slug"],
        "sku": skus[0],
        "skus": [skus[0], "NO-SUCH-SKU", skus[1]],
    }
    return Reader(token, journey, values)
