"""The payments subgraph over real HTTP: embedded worker, order events in, GraphQL out, auth, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from subgraphs.kit.events import EventBus
from subgraphs.kit.settings import Settings
from subgraphs.payments.app import create_app
from subgraphs.payments.schema import build_schema
from tests.payments.conftest import FAST, INSUFFICIENT_FUNDS_CARD, order_created, order_id_of, payment_id_of
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi, wait_for
from tests.support.tokens import bearer

PAYMENT_FIELDS = """
  id status provider providerReference paymentMethod attempt
  amount { amount currency } captured { amount } refunded { amount } refundable { amount }
  attempts { number try outcome errorCode latencyMs }
  failure { reason errorCode final }
  order { id }
"""


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                          headers=headers or {})
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body = await self.gql(query, variables, headers)
        assert "errors" not in body, body
        return dict(body["data"])


def code_of(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


@pytest.fixture
async def api(redis_url: str, mongo: TestMongo) -> AsyncIterator[Api]:
    config = replace(FAST, ledger_database=mongo.name("provider_ledger"))
    app = create_app(Settings.from_env("payments", env={"REDIS_URL": redis_url, **mongo.env("payments")}), config)
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield Api(client)


async def publish_order(redis: aioredis.Redis, **kwargs: Any) -> tuple[str, str]:
    event = order_created(**kwargs)
    await EventBus(redis).publish(event)
    return order_id_of(event), payment_id_of(event)


async def payment_status(api: Api, payment_id: str, user: str, *statuses: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        data = await api.data(f"query($id: ID!) {{ payment(id: $id) {{ {PAYMENT_FIELDS} }} }}", {"id": payment_id},
                              headers=bearer(user))
        payment = data["payment"]
        return payment if payment and payment["status"] in statuses else None

    payment = await wait_for(probe, timeout=10, message=f"payment in {statuses}")
    assert payment is not None
    return payment


async def test_an_order_event_becomes_a_paid_payment_visible_to_its_customer(api: Api, redis: aioredis.Redis) -> None:
    order_id, payment_id = await publish_order(redis, amount=1999, user_id="alice")
    payment = await payment_status(api, payment_id, "alice", "SUCCEEDED")
    assert payment["amount"] == {"amount": 1999, "currency": "EUR"} and payment["captured"] == {"amount": 1999}
    assert payment["paymentMethod"] == "•••• 4242" and payment["provider"] == "CARD"
    assert payment["order"] == {"id": order_id} and payment["attempts"][0]["outcome"] == "SUCCEEDED"

    mine = await api.data('{ _entities(representations: [{__typename: "User", id: "alice"}]) '
                          "{ ... on User { id payments { id status } } } }", headers=bearer("alice"))
    assert mine["_entities"] == [{"id": "alice", "payments": [{"id": payment_id, "status": "SUCCEEDED"}]}]

    entities = await api.data(
        """query($reps: [_Any!]!) { _entities(representations: $reps) {
             ... on Order { id payments { id status } amountDue { amount currency } }
             ... on Payment { id status }
             ... on User { id payments(first: 5) { id } } } }""",
        {"reps": [{"__typename": "Order", "id": order_id, "total": {"amount": 2500, "currency": "EUR"}},
                  {"__typename": "Payment", "id": payment_id},
                  {"__typename": "User", "id": "alice"}]},
        headers=bearer("alice"),
    )
    order, by_key, user = entities["_entities"]
    assert order["payments"] == [{"id": payment_id, "status": "SUCCEEDED"}]
    assert order["amountDue"] == {"amount": 2500 - 1999, "currency": "EUR"}
    assert by_key == {"id": payment_id, "status": "SUCCEEDED"} and user["payments"] == [{"id": payment_id}]


async def test_decline_retry_and_refund_through_graphql(api: Api, redis: aioredis.Redis) -> None:
    order_id, payment_id = await publish_order(redis, token=INSUFFICIENT_FUNDS_CARD, amount=1000)
    failed = await payment_status(api, payment_id, "u1", "FAILED")
    assert failed["failure"] == {"reason": "The card has insufficient funds.", "errorCode": "insufficient_funds",
                                 "final": False}

    retry = """mutation($order: ID!, $method: PaymentMethodInput) {
      retryPayment(orderId: $order, paymentMethod: $method) {
        __typename ... on PaymentRetryScheduled { attempt } ... on PaymentNotRetryable { reason } } }"""
    scheduled = await api.data(retry, {"order": order_id, "method": {"provider": "CARD", "token": "pm_card_visa"}},
                               headers=bearer("u1"))
    assert scheduled["retryPayment"] == {"__typename": "PaymentRetryScheduled", "attempt": 2}
    await payment_status(api, payment_id, "u1", "SUCCEEDED")
    again = await api.data(retry, {"order": order_id}, headers=bearer("u1"))
    assert again["retryPayment"] == {"__typename": "PaymentNotRetryable", "reason": "NOT_FAILED"}

    refund = """mutation($id: ID!, $amount: MinorUnits) { refundPayment(paymentId: $id, amount: $amount) {
      __typename
      ... on PaymentRefundSucceeded { payment { status refunded { amount } } refund { amount { amount } status } }
      ... on RefundExceedsCaptured { requested { amount } refundable { amount } } } }"""
    admin = bearer("ops", "payments:admin")
    over = await api.data(refund, {"id": payment_id, "amount": 1001}, headers=admin)
    assert over["refundPayment"] == {"__typename": "RefundExceedsCaptured", "requested": {"amount": 1001},
                                     "refundable": {"amount": 1000}}
    part = await api.data(refund, {"id": payment_id, "amount": 250}, headers=admin)
    assert part["refundPayment"] == {
        "__typename": "PaymentRefundSucceeded",
        "payment": {"status": "PARTIALLY_REFUNDED", "refunded": {"amount": 250}},
        "refund": {"amount": {"amount": 250}, "status": "SUCCEEDED"},
    }
    due = await api.data(
        """query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { amountDue { amount } } } }""",
        {"reps": [{"__typename": "Order", "id": order_id, "total": {"amount": 1000, "currency": "EUR"}}]},
        headers=bearer("u1"))
    assert due["_entities"] == [{"amountDue": {"amount": 250}}]


async def test_authentication_and_authorisation(api: Api, redis: aioredis.Redis) -> None:
    order_id, payment_id = await publish_order(redis, user_id="alice")
    await payment_status(api, payment_id, "alice", "SUCCEEDED")

    alices = '{ _entities(representations: [{__typename: "User", id: "alice"}]) { ... on User { payments { id } } } }'
    assert code_of(await api.gql(alices)) == "UNAUTHENTICATED"
    assert code_of(await api.gql(alices, headers={"Authorization": "Bearer nonsense"})) == "UNAUTHENTICATED"
    query = "query($id: ID!) { payment(id: $id) { id } }"
    assert code_of(await api.gql(query, {"id": payment_id}, headers=bearer("mallory"))) == "FORBIDDEN"
    admin = bearer("ops", "payments:admin")
    assert (await api.data(query, {"id": payment_id}, headers=admin))["payment"]["id"] == payment_id
    assert (await api.data(query, {"id": payment_id}, headers=bearer("support", "orders:admin")))["payment"]
    users = """query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { payments { id } } } }"""
    body = await api.gql(users, {"reps": [{"__typename": "User", "id": "alice"}]}, headers=bearer("mallory"))
    assert code_of(body) == "FORBIDDEN"
    orders = """query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { payments { id } } } }"""
    body = await api.gql(orders, {"reps": [{"__typename": "Order", "id": order_id}]}, headers=bearer("mallory"))
    assert code_of(body) == "FORBIDDEN"

    refund = "mutation($id: ID!) { refundPayment(paymentId: $id) { __typename } }"
    assert code_of(await api.gql(refund, {"id": payment_id}, headers=bearer("alice"))) == "FORBIDDEN"
    assert code_of(await api.gql(refund, {"id": payment_id})) == "UNAUTHENTICATED"
    retry = "mutation($id: ID!) { retryPayment(orderId: $id) { __typename } }"
    assert code_of(await api.gql(retry, {"id": order_id}, headers=bearer("mallory"))) == "FORBIDDEN"
    assert code_of(await api.gql("{ paymentProviders { circuit } }", headers=bearer("alice"))) == "FORBIDDEN"
    health = await api.data("{ paymentProviders { provider circuit timesOpened } }", headers=admin)
    assert {p["provider"] for p in health["paymentProviders"]} == {"CARD", "WALLET"}


async def test_bad_input_is_a_typed_graphql_error(api: Api, redis: aioredis.Redis) -> None:
    order_id, payment_id = await publish_order(redis)
    await payment_status(api, payment_id, "u1", "SUCCEEDED")
    admin = bearer("ops", "payments:admin")
    refund = "mutation($id: ID!, $amount: MinorUnits) { refundPayment(paymentId: $id, amount: $amount) { __typename } }"
    assert code_of(await api.gql(refund, {"id": payment_id, "amount": -1}, headers=admin)) == "BAD_USER_INPUT"
    assert code_of(await api.gql(refund, {"id": "not an id!", "amount": 1}, headers=admin)) == "BAD_USER_INPUT"
    assert code_of(await api.gql(refund, {"id": "unknown-payment", "amount": 1}, headers=admin)) == "NOT_FOUND"
    retry = "mutation($id: ID!) { retryPayment(orderId: $id) { __typename } }"
    assert code_of(await api.gql(retry, {"id": "unknown-order"}, headers=bearer("u1"))) == "NOT_FOUND"
    with_card = """mutation($id: ID!) {
      retryPayment(orderId: $id, paymentMethod: {provider: CARD, token: "4242 4242 4242 4242"}) { __typename } }"""
    body = await api.gql(with_card, {"id": order_id}, headers=bearer("u1"))
    assert code_of(body) == "BAD_USER_INPUT" and body["errors"][0]["extensions"]["reason"] == "CARD_NUMBER_REFUSED"
    assert "4242" not in body["errors"][0]["message"]
    first = ('{ _entities(representations: [{__typename: "User", id: "u1"}]) '
             "{ ... on User { payments(first: 0) { id } } } }")
    assert code_of(await api.gql(first, headers=bearer("u1"))) == "BAD_USER_INPUT"
    unknown = await api.gql("query($id: ID!) { payment(id: $id) { id } }", {"id": "missing"}, headers=bearer("u1"))
    assert unknown == {"data": {"payment": None}}


async def test_the_subgraph_sdl_declares_the_federation_contracts(api: Api) -> None:
    sdl = (await api.data("{ _service { sdl } }"))["_service"]["sdl"]
    for expected in ('type Payment @key(fields: "id")', 'type Order @key(fields: "id")', 'type User @key(fields: "id")',
                     "total: Money! @external", 'amountDue: Money @requires(fields: "total { amount currency }")',
                     "type Money @shareable", "payments: [Payment!]\n"):
        assert expected in sdl, expected


def test_the_documented_schema_is_the_served_one() -> None:
    """docs/payments.md shows the subgraph SDL; it must not drift from the code."""
    served = asyncio.run(build_schema().execute("{ _service { sdl } }")).data["_service"]["sdl"].strip()  # type: ignore[index]
    docs = (Path(__file__).parents[2] / "docs" / "payments.md").read_text()
    assert served in docs
