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
from .shapes import shapes, with_variables
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
    found = []
    for operation in generate(schema, values).operations:
        found += shapes(operation, schema)
        lifted = with_variables(operation, schema)
        if lifted is not None:
            found.append(lifted)
    return found


PAGE = """
query Page($first: Int!, $after: String, $filter: ProductFilter, $sort: ProductSort!) {
  products(first: $first, after: $after, filter: $filter, sortBy: $sort) {
    totalCount pageInfo { hasNextPage endCursor } nodes { name category priceRange { min { amount } } }
  }
}"""


def hand_picked(first_page_end: str | None) -> list[Operation]:
    """Filters, paging from a cursor, refused arguments and requests a gateway itself refuses."""
    page = {"first": 3, "sort": "PRICE_ASC"}
    operations = [
        Operation("filter search", PAGE, {**page, "filter": {"search": "alpine"}}),
        Operation("filter price range", PAGE, {**page, "filter": {"minPrice": 1000, "maxPrice": 20000}}),
        Operation("filter not in stock", PAGE, {**page, "filter": {"inStock": False}}),
        Operation("filter no match", PAGE, {**page, "filter": {"search": "zzzz-nothing"}}),
        Operation("first 0", PAGE, {**page, "first": 0}),
        Operation("first 101 (refused)", PAGE, {**page, "first": 101}),
        Operation("foreign cursor (refused)", PAGE, {**page, "after": "not-a-cursor"}),
        Operation("unknown field", "{ products { nope } }"),
        Operation("missing variable", PAGE, {"first": 3}),
        Operation("wrong variable type", PAGE, {**page, "first": "three"}),
        Operation("syntax error", "{ products(first: 3) { totalCount }"),
        Operation("root typename", "{ __typename }"),
        Operation("typename everywhere", "{ __typename products(first: 2) { __typename nodes { __typename "
                                         "variants { __typename price { __typename } } } } }"),
    ]
    if first_page_end:
        operations.append(Operation("second page", PAGE, {**page, "after": first_page_end}))
    return operations


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
