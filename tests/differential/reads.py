"""The read operations compared between gateways, and who asks them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLSchema

from scripts.journey import BROWSE, NOTIFICATIONS, STOCK
from subgraphs.kit.auth import issue_token
from subgraphs.kit.settings import DEV_JWT_SECRET

from .compare import Difference
from .generate import Operation, generate
from .shapes import shapes
from .shop import ADMIN_SCOPES, ShopClient, shopper_token

# Each seed picks other leaves of the same paths.
SEEDS = (13, 14, 15, 16)
UNKNOWN = {"Query.order.id": "b3JkZXI6MA", "Query.payment.id": "nope", "Query.notification.id": "nope",
           "Query.product.id": "nope", "slug": "no-such-product", "sku": "NO-SUCH-SKU", "skus": ["NO-SUCH-SKU"]}


def read_operations(schema: GraphQLSchema, values: Mapping[str, Any], examples: Mapping[str, str]) -> list[Operation]:
    """The journey's queries, the explorer's query examples, and the generated ones for every seed."""
    operations = [
        Operation("journey Browse", BROWSE),
        Operation("journey Stock", STOCK, {"sku": values["sku"]}),
        Operation("journey Notifications", NOTIFICATIONS),
        Operation("example BrowseProducts", examples["BrowseProducts"]),
        Operation("example BrowseProducts first 2", examples["BrowseProducts"], {"first": 2}),
        Operation("example ProductById", examples["ProductById"], {"id": values["Query.product.id"]}),
        Operation("example MyCart", examples["MyCart"]),
    ]
    for seed in SEEDS:
        known = {op.document for op in operations}
        operations += [op for op in generate(schema, values, seed=seed).operations if op.document not in known]
    return operations


def shaped_operations(schema: GraphQLSchema, values: Mapping[str, Any]) -> list[Operation]:
    """The first seed's operations aliased, through fragments and under @include/@skip."""
    return [shaped for op in generate(schema, values).operations for shaped in shapes(op, schema)]


def callers(schema: GraphQLSchema, values: Mapping[str, Any],
            reader_token: str) -> dict[str, tuple[str | None, list[Operation]]]:
    """Where the errors are: an anonymous caller (root fields), another shopper reading the reader's
    order, payment and notification, an admin reading other customers' carts through orders and
    notifications (errors nested in entity fetches), the reader with unknown ids."""
    return {
        "anonymous": (None, generate(schema, values, children=False).operations),
        "stranger": (shopper_token("diff-stranger"), generate(schema, values).operations),
        "admin": (issue_token("diff-admin", ADMIN_SCOPES, DEV_JWT_SECRET), generate(schema, values).operations),
        "unknown ids": (reader_token, generate(schema, UNKNOWN, children=False).operations),
    }


def differences(ours: ShopClient, theirs: ShopClient, operations: list[Operation]) -> list[Difference]:
    """Operations whose outcomes differ, asked twice (the shop's workers may change state between two
    answers: only a difference that is there both times counts)."""
    found = []
    for operation in operations:
        mine = ours.outcome(operation.document, operation.variables)
        other = theirs.outcome(operation.document, operation.variables)
        if mine != other:
            mine = ours.outcome(operation.document, operation.variables)
            other = theirs.outcome(operation.document, operation.variables)
            if mine != other:
                found.append(Difference(operation.name, mine, other))
    return found
