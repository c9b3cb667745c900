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
from subgraphs.kit.auth import issue_token
from subgraphs.kit.settings import DEV_JWT_SECRET

from .compare import Difference, report
from .conftest import Reader, Shop
from .gateways import GatewayProcess
from .generate import Operation, generate
from .shop import ShopClient, shop_journey, shopper_token

pytestmark = pytest.mark.slow

SEEDS = (13, 14, 15, 16)
ADMIN_SCOPES = ("orders:admin", "payments:admin", "notifications:admin")
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
    schema = api_schema(shop)
    for seed in SEEDS:  # each seed picks other leaves of the same paths
        known = {op.document for op in operations}
        operations += [op for op in generate(schema, values, seed=seed).operations if op.document not in known]
    return operations


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
    assert len(operations) >= 100
    ours, theirs = ShopClient(shop.gateway_url, reader.token), ShopClient(apollo.url, reader.token)
    try:
        started = time.monotonic()
        found = differences(ours, theirs, operations)
    finally:
        ours.close()
        theirs.close()
    assert not found, f"{len(found)} of {len(operations)} differ:\n{report(found, '@apollo/gateway')}"
    assert time.monotonic() - started < 60


def test_anonymous_strangers_and_unknown_ids_answer_the_same(shop: Shop, apollo: GatewayProcess,
                                                             reader: Reader) -> None:
    """Where the errors are: an anonymous caller (root fields), another shopper reading the
    reader's order, payment and notification (every generated operation), an admin reading other
    customers' carts and payments through orders (nested errors in entity fetches), unknown ids."""
    schema = api_schema(shop)
    callers = {
        "anonymous": (None, generate(schema, reader.examples, children=False).operations),
        "stranger": (shopper_token("diff-stranger"), generate(schema, reader.examples).operations),
        "admin": (issue_token("diff-admin", ADMIN_SCOPES, DEV_JWT_SECRET),
                  generate(schema, reader.examples).operations),
        "reader": (reader.token, generate(schema, UNKNOWN, children=False).operations),
    }
    found, with_errors = [], 0
    for token, operations in callers.values():
        ours, theirs = ShopClient(shop.gateway_url, token), ShopClient(apollo.url, token)
        try:
            found += differences(ours, theirs, operations)
            with_errors += sum(1 for op in operations if ours.outcome(op.document).error_paths)
        finally:
            ours.close()
            theirs.close()
    assert not found, report(found, "@apollo/gateway")
    assert with_errors >= 20  # the comparison did see errors


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
