"""The shop through our gateway and through @apollo/gateway, on the same supergraph and subgraphs.

Read operations (the journey's, the explorer's examples and ~90 generated from the API schema)
run through both, as the shopper who did the journey through our gateway, as an anonymous caller
and with unknown ids; their ``data`` and ``errors[].path`` sets must be equal. The journey's
mutations run once more through @apollo/gateway as a second shopper: its answers, with created
ids and times replaced by placeholders, must equal those of the run through our gateway.
@apollo/gateway takes no subscriptions: that step is left out of its run (and compared with
Grafbase, in test_grafbase.py).
"""

from __future__ import annotations

import time

import pytest
from graphql import GraphQLSchema

from gateway.supergraph import build_api_schema
from scripts.journey import BROWSE, NOTIFICATIONS, STOCK

from .compare import Difference, report
from .conftest import Reader, Shop
from .gateways import GatewayProcess
from .generate import Operation, generate
from .shop import ShopClient, shop_journey, shopper_token

pytestmark = pytest.mark.slow

UNKNOWN = {"Query.order.id": "b3JkZXI6MA", "Query.payment.id": "nope", "Query.notification.id": "nope",
           "Query.product.id": "nope", "slug": "no-such-product", "sku": "NO-SUCH-SKU", "skus": ["NO-SUCH-SKU"]}


def api_schema(shop: Shop) -> GraphQLSchema:
    return build_api_schema(shop.supergraph.read_text())


def read_operations(shop: Shop, reader: Reader, examples: dict[str, str]) -> list[Operation]:
    values = reader.examples
    operations = [
        Operation("journey Browse", BROWSE),
        Operation("journey Stock", STOCK, {"sku": values["sku"]}),
        Operation("journey Notifications", NOTIFICATIONS),
        Operation("example BrowseProducts", examples["BrowseProducts"]),
        Operation("example BrowseProducts first 2", examples["BrowseProducts"], {"first": 2}),
        Operation("example ProductById", examples["ProductById"], {"id": values["Query.product.id"]}),
        Operation("example MyCart", examples["MyCart"]),
    ]
    return operations + generate(api_schema(shop), values).operations


def differences(ours: ShopClient, theirs: ShopClient, operations: list[Operation]) -> list[Difference]:
    """Operations whose outcomes differ, asked twice (the shop's workers may change state between two
    answers: only a difference that is there both times counts)."""
    found = []
    for operation in operations:
        mine, other = ours.outcome(operation.document, operation.variables), \
            theirs.outcome(operation.document, operation.variables)
        if mine != other:
            mine, other = ours.outcome(operation.document, operation.variables), \
                theirs.outcome(operation.document, operation.variables)
            if mine != other:
                found.append(Difference(operation.name, mine, other))
    return found


def test_read_operations_answer_the_same(shop: Shop, apollo: GatewayProcess, reader: Reader,
                                         examples: dict[str, str]) -> None:
    operations = read_operations(shop, reader, examples)
    assert len(operations) >= 60
    ours, theirs = ShopClient(shop.gateway_url, reader.token), ShopClient(apollo.url, reader.token)
    try:
        started = time.monotonic()
        found = differences(ours, theirs, operations)
    finally:
        ours.close()
        theirs.close()
    assert not found, f"{len(found)} of {len(operations)} differ:\n{report(found, '@apollo/gateway')}"
    assert time.monotonic() - started < 60


def test_anonymous_and_unknown_ids_answer_the_same(shop: Shop, apollo: GatewayProcess, reader: Reader) -> None:
    schema = api_schema(shop)
    anonymous_ops = generate(schema, reader.examples, children=False).operations
    unknown_ops = generate(schema, UNKNOWN, children=False).operations
    ours, theirs = ShopClient(shop.gateway_url), ShopClient(apollo.url)
    ours_known, theirs_known = ShopClient(shop.gateway_url, reader.token), ShopClient(apollo.url, reader.token)
    try:
        found = differences(ours, theirs, anonymous_ops) + differences(ours_known, theirs_known, unknown_ops)
        # The anonymous `me` is an error at ["me"] through both: the comparison sees errors.
        assert ("me",) in ours.outcome("{ me { id } }").error_paths
    finally:
        for client in (ours, theirs, ours_known, theirs_known):
            client.close()
    assert not found, report(found, "@apollo/gateway")


def test_the_journey_mutations_answer_the_same(shop: Shop, apollo: GatewayProcess, reader: Reader,
                                               skus: tuple[str, str], examples: dict[str, str]) -> None:
    shopper = ShopClient(apollo.url, shopper_token("diff-apollo"))
    anonymous = ShopClient(apollo.url)
    try:
        run = shop_journey(shopper, anonymous, skus, examples)
    finally:
        shopper.close()
        anonymous.close()
    ours = [step for step in reader.journey.steps if step[0] != "subscription first event"]
    assert [name for name, _ in run.steps] == [name for name, _ in ours]
    found = [Difference(name, mine, other) for (name, mine), (_, other) in zip(ours, run.steps, strict=True)
             if mine != other]
    assert not found, report(found, "@apollo/gateway")
