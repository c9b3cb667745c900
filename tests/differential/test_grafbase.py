"""The shop behind a Rust gateway: Grafbase's ``grafbase dev`` composes the subgraphs' SDL itself and
serves them; the journey's queries, mutations and live status must answer as through our gateway.

This is the check that the subgraphs are standard Federation 2 subgraphs: a router that shares no
code with ours composes them (with one normalisation of the SDL, see ``gateways.grafbase_sdl``),
plans across them and gets the same answers.
"""

from __future__ import annotations

import pytest

from scripts.journey import BROWSE, NOTIFICATIONS, STOCK

from .compare import Difference, report
from .conftest import Reader, Shop
from .gateways import GatewayProcess
from .generate import Operation
from .shop import ShopClient, shop_journey, shopper_token
from .test_apollo_gateway import differences, read_operations

pytestmark = pytest.mark.slow


def websocket_url(gateway: GatewayProcess) -> str:
    """Grafbase takes subscriptions (graphql-transport-ws) at /ws, not at /graphql."""
    return gateway.url.replace("http://", "ws://").removesuffix("/graphql") + "/ws"


def test_the_journey_queries_answer_the_same(shop: Shop, grafbase: GatewayProcess, reader: Reader,
                                             examples: dict[str, str]) -> None:
    values = reader.examples
    journey = [Operation("journey Browse", BROWSE), Operation("journey Stock", STOCK, {"sku": values["sku"]}),
               Operation("journey Notifications", NOTIFICATIONS)]
    ours, theirs = ShopClient(shop.gateway_url, reader.token), ShopClient(grafbase.url, reader.token)
    try:
        found = differences(ours, theirs, journey)
        assert ours.outcome(BROWSE).data == theirs.outcome(BROWSE).data
    finally:
        ours.close()
        theirs.close()
    assert not found, report(found, "grafbase")


def test_the_generated_queries_answer_the_same(shop: Shop, grafbase: GatewayProcess, reader: Reader,
                                               examples: dict[str, str]) -> None:
    operations = read_operations(shop, reader, examples)
    ours, theirs = ShopClient(shop.gateway_url, reader.token), ShopClient(grafbase.url, reader.token)
    try:
        found = differences(ours, theirs, operations)
    finally:
        ours.close()
        theirs.close()
    assert not found, f"{len(found)} of {len(operations)} differ:\n{report(found, 'grafbase')}"


def test_the_journey_mutations_and_live_status_answer_the_same(shop: Shop, grafbase: GatewayProcess, reader: Reader,
                                                               skus: tuple[str, str],
                                                               examples: dict[str, str]) -> None:
    shopper = ShopClient(grafbase.url, shopper_token("diff-grafbase"), ws_url=websocket_url(grafbase),
                         ws_handshake_auth=True)
    anonymous = ShopClient(grafbase.url)
    try:
        run = shop_journey(shopper, anonymous, skus, examples)
    finally:
        shopper.close()
        anonymous.close()
    assert [name for name, _ in run.steps] == [name for name, _ in reader.journey.steps]
    assert "subscription first event" in dict(run.steps)
    found = [Difference(name, mine, other)
             for (name, mine), (_, other) in zip(reader.journey.steps, run.steps, strict=True) if mine != other]
    assert not found, report(found, "grafbase")
