"""The GraphQL API: preferences, notifications of a user and of an order, auth, bad input, federation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.notifications.support import Running, order_created, order_paid, running
from tests.support.mongo import TestMongo
from tests.support.tokens import bearer

PREFERENCES = """
query($me: ID = "u1") { me: _entities(representations: [{__typename: "User", id: $me}]) { ... on User {
  id notificationPreferences { email emailFromOrder phone webhookUrl hasWebhookSecret pushDeviceToken
  events { eventType channels deliveringChannels isDefault } } } } }
"""
UPDATE = """
mutation($input: UpdateNotificationPreferencesInput!) {
  updateNotificationPreferences(input: $input) { email phone webhookUrl hasWebhookSecret pushDeviceToken
    events { eventType channels deliveringChannels isDefault } }
}
"""
MY_NOTIFICATIONS = """
query($first: Int!, $after: String, $me: ID = "u1") {
  me: _entities(representations: [{__typename: "User", id: $me}]) { ... on User {
    notifications(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id channel status template subject body htmlBody eventType eventId recipient
      attempts { number outcome error at } sentAt createdAt user { id } order { id } } }
  } } }
}
"""
USER_NOTIFICATIONS = """
query($id: ID!) { _entities(representations: [{__typename: "User", id: $id}]) {
  ... on User { notifications(first: 10) { totalCount edges { node { id } } } } } }
"""
ORDER_NOTIFICATIONS = """
query($ids: [_Any!]!) { _entities(representations: $ids) {
  ... on Order { id notifications { id channel status template user { id } } } } }
"""


def codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


@pytest.fixture
async def svc(redis_url: str, mongo: TestMongo, tmp_path: Path):
    async with running(redis_url, mongo, tmp_path) as service:
        yield service


async def deliver_two_orders(svc: Running) -> None:
    """u1 gets three emails (two orders created, one paid), u2 one."""
    for event in (order_created("o1"), order_created("o2"), order_paid("o1"), order_created("o3", user_id="u2")):
        await svc.publish(event)
        await svc.wait_settled(event, 1)


async def test_preferences_start_from_the_defaults(svc: Running) -> None:
    result = await svc.graphql(PREFERENCES, {"me": "new-user"}, bearer("new-user"))
    preferences = result["data"]["me"][0]["notificationPreferences"]
    assert result["data"]["me"][0]["id"] == "new-user"
    assert preferences["email"] is None and preferences["phone"] is None and not preferences["hasWebhookSecret"]
    assert [e["eventType"] for e in preferences["events"]] == [
        "ORDER_CREATED", "ORDER_PAID", "ORDER_CANCELLED", "ORDER_FULFILLED", "PAYMENT_FAILED", "PAYMENT_REFUNDED"
    ]
    for event in preferences["events"]:
        assert event["channels"] == ["EMAIL", "PUSH", "WEBHOOK"] and event["isDefault"]
        assert event["deliveringChannels"] == []


async def test_updating_preferences(svc: Running) -> None:
    result = await svc.graphql(UPDATE, {"input": {
        "email": "Me@Example.COM", "phone": "+1 (415) 555-0100", "webhookUrl": "https://hooks.example.com/shop",
        "webhookSecret": "s3cret-s3cret-s3cret", "pushDeviceToken": "tok-1",
        "events": [{"eventType": "ORDER_PAID", "channels": ["SMS", "EMAIL", "SMS"]}],
    }}, bearer("u1"))
    updated = result["data"]["updateNotificationPreferences"]
    assert updated["email"] == "Me@example.com" and updated["phone"] == "+14155550100"
    assert updated["webhookUrl"] == "https://hooks.example.com/shop" and updated["hasWebhookSecret"]
    paid = next(e for e in updated["events"] if e["eventType"] == "ORDER_PAID")
    assert paid == {"eventType": "ORDER_PAID", "channels": ["EMAIL", "SMS"], "deliveringChannels": ["EMAIL", "SMS"],
                    "isDefault": False}
    created = next(e for e in updated["events"] if e["eventType"] == "ORDER_CREATED")
    assert created["deliveringChannels"] == ["EMAIL", "PUSH", "WEBHOOK"]

    # Omitted fields stay, null clears, useDefaultsFor resets a choice.
    result = await svc.graphql(UPDATE, {"input": {"phone": None, "useDefaultsFor": ["ORDER_PAID"]}}, bearer("u1"))
    updated = result["data"]["updateNotificationPreferences"]
    assert updated["phone"] is None and updated["email"] == "Me@example.com"
    paid = next(e for e in updated["events"] if e["eventType"] == "ORDER_PAID")
    assert paid["isDefault"] and paid["channels"] == ["EMAIL", "PUSH", "WEBHOOK"]


async def test_order_email_is_remembered_unless_the_user_chose_one(svc: Running) -> None:
    first = await svc.publish(order_created("o1", email="first@example.com"))
    await svc.wait_settled(first, 1)
    preferences = (await svc.graphql(PREFERENCES, headers=bearer("u1")))["data"]["me"][0]["notificationPreferences"]
    assert preferences["email"] == "first@example.com" and preferences["emailFromOrder"]

    second = await svc.publish(order_created("o2", email="second@example.com"))
    assert (await svc.wait_settled(second, 1))[0]["recipient"] == "second@example.com"

    await svc.set_preferences("u1", email="chosen@example.com")
    third = await svc.publish(order_created("o3", email="third@example.com"))
    assert (await svc.wait_settled(third, 1))[0]["recipient"] == "chosen@example.com"
    preferences = (await svc.graphql(PREFERENCES, headers=bearer("u1")))["data"]["me"][0]["notificationPreferences"]
    assert preferences["email"] == "chosen@example.com" and not preferences["emailFromOrder"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("webhookUrl", "ftp://hooks.example.com/x"),
        ("webhookUrl", "javascript:alert(1)"),
        ("webhookUrl", "https://"),
        ("webhookUrl", "https://user:pw@hooks.example.com/"),
        ("webhookUrl", "http://hooks.example.com:99999/"),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("phone", "12345"),
        ("phone", "+0123456789"),
        ("webhookSecret", "short"),
        ("pushDeviceToken", "has space"),
    ],
)
async def test_invalid_preferences_are_bad_user_input(svc: Running, field: str, value: str) -> None:
    result = await svc.graphql(UPDATE, {"input": {field: value}}, bearer("u1"))
    assert codes(result) == ["BAD_USER_INPUT"]
    assert result["errors"][0]["extensions"]["field"] == field
    assert result["data"] is None


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"events": [{"eventType": "ORDER_PAID", "channels": []}, {"eventType": "ORDER_PAID", "channels": ["SMS"]}]},
        {"events": [{"eventType": "ORDER_PAID", "channels": []}], "useDefaultsFor": ["ORDER_PAID"]},
    ],
)
async def test_inconsistent_preference_updates_are_bad_user_input(svc: Running, payload: dict[str, Any]) -> None:
    assert codes(await svc.graphql(UPDATE, {"input": payload}, bearer("u1"))) == ["BAD_USER_INPUT"]


async def test_an_invalid_update_changes_nothing(svc: Running) -> None:
    await svc.set_preferences("u1", email="kept@example.com")
    result = await svc.graphql(UPDATE, {"input": {"email": "other@example.com", "webhookUrl": "file:///etc"}},
                               bearer("u1"))
    assert codes(result) == ["BAD_USER_INPUT"]
    preferences = (await svc.graphql(PREFERENCES, headers=bearer("u1")))["data"]["me"][0]["notificationPreferences"]
    assert preferences["email"] == "kept@example.com" and preferences["webhookUrl"] is None


async def test_my_notifications_are_a_cursor_connection(svc: Running) -> None:
    await deliver_two_orders(svc)
    first = (await svc.graphql(MY_NOTIFICATIONS, {"first": 2}, bearer("u1")))["data"]["me"][0]["notifications"]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    assert [e["node"]["template"] for e in first["edges"]] == ["order.paid/email", "order.created/email"]
    node = first["edges"][0]["node"]
    assert node["status"] == "SENT" and node["channel"] == "EMAIL" and node["eventType"] == "ORDER_PAID"
    assert node["subject"] == "Supershop: payment received for order N-o1"
    assert "EUR 49.98" in node["body"] and node["htmlBody"].startswith("<!DOCTYPE html>")
    assert node["user"] == {"id": "u1"} and node["order"] == {"id": "o1"}
    assert node["recipient"] == "buyer@example.com" and node["sentAt"]
    assert [(a["number"], a["outcome"], a["error"]) for a in node["attempts"]] == [(1, "SENT", None)]

    after = first["pageInfo"]["endCursor"]
    rest = (await svc.graphql(MY_NOTIFICATIONS, {"first": 2, "after": after}, bearer("u1")))["data"]["me"][0]
    page = rest["notifications"]
    assert [e["node"]["order"]["id"] for e in page["edges"]] == ["o1"]
    assert not page["pageInfo"]["hasNextPage"] and page["pageInfo"]["hasPreviousPage"]
    seen = {e["node"]["id"] for e in first["edges"]} | {e["node"]["id"] for e in page["edges"]}
    assert len(seen) == 3


@pytest.mark.parametrize(("variables", "field"), [({"first": 0}, "first"), ({"first": 101}, "first"),
                                                  ({"first": 5, "after": "bm90LWEtY3Vyc29y"}, "after"),
                                                  ({"first": 5, "after": "%%%"}, "after")])
async def test_bad_pagination_is_bad_user_input(svc: Running, variables: dict[str, Any], field: str) -> None:
    result = await svc.graphql(MY_NOTIFICATIONS, variables, bearer("u1"))
    assert codes(result) == ["BAD_USER_INPUT"] and result["errors"][0]["extensions"]["field"] == field


async def test_signing_in_is_required(svc: Running) -> None:
    assert codes(await svc.graphql(PREFERENCES)) == ["UNAUTHENTICATED"]
    assert codes(await svc.graphql(UPDATE, {"input": {"phone": None}})) == ["UNAUTHENTICATED"]
    assert codes(await svc.graphql(USER_NOTIFICATIONS, {"id": "u1"})) == ["UNAUTHENTICATED"]
    bad_token = await svc.graphql(PREFERENCES, headers={"Authorization": "Bearer not-a-jwt"})
    assert codes(bad_token) == ["UNAUTHENTICATED"]


async def test_a_user_reads_only_their_own_notifications(svc: Running) -> None:
    await deliver_two_orders(svc)
    own = await svc.graphql(USER_NOTIFICATIONS, {"id": "u1"}, bearer("u1"))
    assert own["data"]["_entities"][0]["notifications"]["totalCount"] == 3

    other = await svc.graphql(USER_NOTIFICATIONS, {"id": "u1"}, bearer("u2"))
    assert codes(other) == ["FORBIDDEN"]
    preferences = await svc.graphql(
        'query { _entities(representations: [{__typename: "User", id: "u1"}]) {'
        " ... on User { notificationPreferences { email } } } }", headers=bearer("u2"))
    assert codes(preferences) == ["FORBIDDEN"]

    admin = await svc.graphql(USER_NOTIFICATIONS, {"id": "u1"}, bearer("support", "notifications:admin"))
    assert admin["data"]["_entities"][0]["notifications"]["totalCount"] == 3


async def test_order_notifications_show_the_viewers_own_or_all_to_admins(svc: Running) -> None:
    await deliver_two_orders(svc)
    ids = [{"__typename": "Order", "id": "o1"}, {"__typename": "Order", "id": "o2"},
           {"__typename": "Order", "id": "o3"}, {"__typename": "Order", "id": "unknown"}]
    own = (await svc.graphql(ORDER_NOTIFICATIONS, {"ids": ids}, bearer("u1")))["data"]["_entities"]
    assert [o["id"] for o in own] == ["o1", "o2", "o3", "unknown"]
    assert [n["template"] for n in own[0]["notifications"]] == ["order.created/email", "order.paid/email"]
    assert len(own[1]["notifications"]) == 1
    assert own[2]["notifications"] == [] and own[3]["notifications"] == []  # o3 is u2's

    admin = (await svc.graphql(ORDER_NOTIFICATIONS, {"ids": ids},
                               bearer("support", "notifications:admin")))["data"]["_entities"]
    assert [n["user"]["id"] for n in admin[2]["notifications"]] == ["u2"]
    assert set(codes(await svc.graphql(ORDER_NOTIFICATIONS, {"ids": ids}))) == {"UNAUTHENTICATED"}


async def test_notification_by_id_and_as_an_entity(svc: Running) -> None:
    await deliver_two_orders(svc)
    page = (await svc.graphql(MY_NOTIFICATIONS, {"first": 1}, bearer("u1")))["data"]["me"][0]["notifications"]
    notification_id = page["edges"][0]["node"]["id"]
    query = "query($id: ID!) { notification(id: $id) { id status user { id } } }"

    own = await svc.graphql(query, {"id": notification_id}, bearer("u1"))
    assert own["data"]["notification"] == {"id": notification_id, "status": "SENT", "user": {"id": "u1"}}
    assert codes(await svc.graphql(query, {"id": notification_id}, bearer("u2"))) == ["NOT_FOUND"]
    assert codes(await svc.graphql(query, {"id": "ntf_missing"}, bearer("u1"))) == ["NOT_FOUND"]
    admin = await svc.graphql(query, {"id": notification_id}, bearer("support", "notifications:admin"))
    assert admin["data"]["notification"]["id"] == notification_id

    entity = await svc.graphql(
        'query($id: ID!) { _entities(representations: [{__typename: "Notification", id: $id}]) {'
        " ... on Notification { id template } } }", {"id": notification_id}, bearer("u1"))
    assert entity["data"]["_entities"] == [{"id": notification_id, "template": "order.paid/email"}]


async def test_the_subgraph_sdl_declares_the_federation_contracts(svc: Running) -> None:
    sdl = (await svc.graphql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    for fragment in (
        'type Notification @key(fields: "id")',
        'type Order @key(fields: "id")',
        'type User @key(fields: "id")',
        "notifications(first: Int! = 20, after: String = null): NotificationConnection\n",
        "notificationPreferences: NotificationPreferences\n",
        "updateNotificationPreferences(input: UpdateNotificationPreferencesInput!): NotificationPreferences!",
        "type PageInfo @shareable",
    ):
        assert fragment in sdl, fragment
