"""Reading orders: one order, the user's orders, the admin listing, entities and the SDL, with auth."""

from __future__ import annotations

import pytest

from tests.orders.conftest import ADMIN, ALICE, BOB, OrdersInstance
from tests.orders.helpers import payment_processed, place_order
from tests.orders.queries import ALL_ORDERS, MY_ORDERS, ORDER, error_codes
from tests.support.tokens import bearer

UNKNOWN_ID = "00000000-0000-5000-8000-000000000000"


async def test_order_by_id_for_its_customer_and_admins_only(orders: OrdersInstance) -> None:
    order = await place_order(orders, "read-1")
    mine = await orders.gql(ORDER, {"id": order["id"]}, ALICE)
    assert mine["data"]["order"]["number"] == order["number"]
    assert (await orders.gql(ORDER, {"id": order["id"]}, ADMIN))["data"]["order"]["id"] == order["id"]
    assert error_codes(await orders.gql(ORDER, {"id": order["id"]}, BOB)) == ["FORBIDDEN"]
    assert error_codes(await orders.gql(ORDER, {"id": order["id"]})) == ["UNAUTHENTICATED"]
    assert error_codes(await orders.gql(ORDER, {"id": order["id"]}, {"Authorization": "Basic x"})) == [
        "UNAUTHENTICATED"]
    assert error_codes(await orders.gql(ORDER, {"id": UNKNOWN_ID}, ALICE)) == ["NOT_FOUND"]
    for malformed in ("nope", "", "1" * 300, UNKNOWN_ID.upper() + "0"):
        assert error_codes(await orders.gql(ORDER, {"id": malformed}, ALICE)) == ["BAD_USER_INPUT"]


async def test_my_orders_paginate_newest_first_with_a_status_filter(orders: OrdersInstance) -> None:
    placed = [await place_order(orders, f"page-{i}") for i in range(5)]
    await place_order(orders, "bobs", headers=BOB)
    paid = payment_processed(placed[1])
    await orders.services.consumer.handlers[paid.type](paid)

    first = (await orders.gql(MY_ORDERS, {"first": 2}, ALICE))["data"]["me"][0]
    assert first["id"] == "alice"
    page = first["orders"]
    assert page["totalCount"] == 5
    assert [e["node"]["id"] for e in page["edges"]] == [placed[4]["id"], placed[3]["id"]]
    assert page["pageInfo"]["hasNextPage"] is True and page["pageInfo"]["hasPreviousPage"] is False
    assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]

    seen = [e["node"]["id"] for e in page["edges"]]
    cursor = page["pageInfo"]["endCursor"]
    while cursor:
        body = await orders.gql(MY_ORDERS, {"first": 2, "after": cursor}, ALICE)
        page = body["data"]["me"][0]["orders"]
        assert page["pageInfo"]["hasPreviousPage"] is True
        seen += [e["node"]["id"] for e in page["edges"]]
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == [o["id"] for o in reversed(placed)]

    only_paid = (await orders.gql(MY_ORDERS, {"first": 10, "status": "PAID"}, ALICE))["data"]["me"][0]["orders"]
    assert [e["node"]["id"] for e in only_paid["edges"]] == [placed[1]["id"]] and only_paid["totalCount"] == 1


@pytest.mark.parametrize(("variables", "argument"), [
    ({"first": 0}, "first"), ({"first": 101}, "first"), ({"first": -5}, "first"),
    ({"first": 5, "after": "garbage!"}, "after"), ({"first": 5, "after": "b3JkZXI6LTE="}, "after"),
    ({"first": 5, "after": "eHl6OjEw"}, "after"),
])
async def test_bad_page_arguments_are_bad_user_input(orders: OrdersInstance, variables: dict[str, object],
                                                     argument: str) -> None:
    body = await orders.gql(MY_ORDERS, variables, ALICE)
    assert error_codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["argument"] == argument
    body = await orders.gql(ALL_ORDERS, variables, ADMIN)
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_me_needs_a_token(orders: OrdersInstance) -> None:
    assert error_codes(await orders.gql(MY_ORDERS, {"first": 1})) == ["UNAUTHENTICATED"]


async def test_admin_listing_needs_the_admin_scope_and_filters(orders: OrdersInstance) -> None:
    a = await place_order(orders, "adm-1")
    b = await place_order(orders, "adm-2", headers=BOB)
    assert error_codes(await orders.gql(ALL_ORDERS, {"first": 5})) == ["UNAUTHENTICATED"]
    assert error_codes(await orders.gql(ALL_ORDERS, {"first": 5}, ALICE)) == ["FORBIDDEN"]
    everything = (await orders.gql(ALL_ORDERS, {"first": 5}, ADMIN))["data"]["orders"]
    assert [e["node"]["id"] for e in everything["edges"]] == [b["id"], a["id"]]
    bobs = (await orders.gql(ALL_ORDERS, {"first": 5, "customerId": "bob"}, ADMIN))["data"]["orders"]
    assert [e["node"]["customer"]["id"] for e in bobs["edges"]] == ["bob"] and bobs["totalCount"] == 1
    none = (await orders.gql(ALL_ORDERS, {"first": 5, "status": "REFUNDED"}, ADMIN))["data"]["orders"]
    assert none["edges"] == [] and none["totalCount"] == 0 and none["pageInfo"]["endCursor"] is None


ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Order { id number status }
    ... on User { id orders(first: 5) { totalCount } }
    ... on Product { id }
  }
}
"""


async def test_entities_resolve_with_the_same_access_rules(orders: OrdersInstance) -> None:
    order = await place_order(orders, "entity-1", ("MUG-1", 1))
    reps = [{"__typename": "Order", "id": order["id"]}, {"__typename": "Order", "id": UNKNOWN_ID}]
    body = await orders.gql(ENTITIES, {"representations": reps}, ALICE)
    assert body["data"]["_entities"] == [{"__typename": "Order", "id": order["id"], "number": order["number"],
                                          "status": "AWAITING_PAYMENT"}, None]
    assert error_codes(await orders.gql(ENTITIES, {"representations": reps[:1]}, BOB)) == ["FORBIDDEN"]
    service = await orders.gql(ENTITIES, {"representations": reps[:1]}, bearer("service:payments"))
    assert service["data"]["_entities"][0]["id"] == order["id"]

    user = [{"__typename": "User", "id": "alice"}]
    mine = await orders.gql(ENTITIES, {"representations": user}, ALICE)
    assert mine["data"]["_entities"] == [{"__typename": "User", "id": "alice", "orders": {"totalCount": 1}}]
    assert error_codes(await orders.gql(ENTITIES, {"representations": user}, BOB)) == ["FORBIDDEN"]
    admin = await orders.gql(ENTITIES, {"representations": user}, ADMIN)
    assert admin["data"]["_entities"][0]["orders"]["totalCount"] == 1

    products = [{"__typename": "Product", "id": "prod-MUG"}, {"__typename": "Product", "id": "prod-none"}]
    body = await orders.gql(ENTITIES, {"representations": products}, ALICE)
    assert body["data"]["_entities"] == [{"__typename": "Product", "id": "prod-MUG"}, None]


async def test_sdl_carries_the_federation_contract(orders: OrdersInstance) -> None:
    sdl = (await orders.gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    for fragment in ('type Order @key(fields: "id")', 'type User @key(fields: "id")',
                     'type Product @key(fields: "id")', "name: String! @external",
                     'product: Product @provides(fields: "name")', "type Money @shareable",
                     "orderStatusChanged(orderId: ID!, after: ID = null): OrderStatusEvent!",
                     "placeOrder(input: PlaceOrderInput!, idempotencyKey: String!): PlaceOrderResult!"):
        assert fragment in sdl, fragment
