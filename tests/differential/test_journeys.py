"""The journey's mutations through each gateway, each run as its own shopper on the same two SKUs
(tests/differential/shop.py): with created ids and times replaced by placeholders, every step's
answer must equal that of the run through our gateway.

@apollo/gateway takes no subscriptions, so its run leaves out the live-status step. Grafbase takes
them at /ws and applies its header rules to the WebSocket handshake only: its shopper sends the
token as a handshake header as well as in connection_init (docs/gateway.md).
"""

from __future__ import annotations

import pytest

from .compare import Difference, Outcome, report
from .conftest import Reader, Shop
from .gateways import GatewayProcess
from .shop import SUBSCRIPTION_STEP, ShopClient, shop_journey, shopper_token

pytestmark = pytest.mark.slow


def websocket_url(gateway: GatewayProcess) -> str:
    """Grafbase takes subscriptions at /ws, not at /graphql."""
    return gateway.url.replace("http://", "ws://").removesuffix("/graphql") + "/ws"


def compare_runs(reader: Reader, run_steps: list[tuple[str, Outcome]], name: str, *, subscriptions: bool) -> None:
    ours = [step for step in reader.journey.steps if subscriptions or step[0] != SUBSCRIPTION_STEP]
    assert [step for step, _ in run_steps] == [step for step, _ in ours]
    found = [Difference(step, mine, other) for (step, mine), (_, other) in zip(ours, run_steps, strict=True)
             if mine != other]
    assert not found, report(found, name)


def test_the_journey_through_apollo_gateway(shop: Shop, apollo: GatewayProcess, reader: Reader,
                                            skus: tuple[str, str], examples: dict[str, str]) -> None:
    shopper, anonymous = ShopClient(apollo.url, shopper_token("diff-apollo")), ShopClient(apollo.url)
    try:
        run = shop_journey(shopper, anonymous, skus, examples)
    finally:
        shopper.close()
        anonymous.close()
    compare_runs(reader, run.steps, apollo.name, subscriptions=False)


def test_the_journey_and_live_status_through_grafbase(shop: Shop, grafbase: GatewayProcess, reader: Reader,
                                                      skus: tuple[str, str], examples: dict[str, str]) -> None:
    shopper = ShopClient(grafbase.url, shopper_token("diff-grafbase"), ws_url=websocket_url(grafbase),
                         ws_handshake_auth=True)
    anonymous = ShopClient(grafbase.url)
    try:
        run = shop_journey(shopper, anonymous, skus, examples)
    finally:
        shopper.close()
        anonymous.close()
    assert SUBSCRIPTION_STEP in dict(run.steps)
    compare_runs(reader, run.steps, grafbase.name, subscriptions=True)


def test_the_explorer_subscription_example_through_grafbase(shop: Shop, grafbase: GatewayProcess, reader: Reader,
                                                            examples: dict[str, str]) -> None:
    """The explorer's OrderStatus example on the reader's order: the same first event through both."""
    order = {"orderId": reader.examples["Query.order.id"]}
    ours = ShopClient(shop.gateway_url, reader.token, ws_url=shop.gateway_url.replace("http", "ws", 1))
    theirs = ShopClient(grafbase.url, reader.token, ws_url=websocket_url(grafbase), ws_handshake_auth=True)
    try:
        mine = Outcome.of(ours.first_event(examples["OrderStatus"], order))
        other = Outcome.of(theirs.first_event(examples["OrderStatus"], order))
    finally:
        ours.close()
        theirs.close()
    assert mine.data and mine.data["orderStatusChanged"]["order"]["payments"], mine.show()
    assert mine == other, report([Difference("OrderStatus", mine, other)], grafbase.name)
