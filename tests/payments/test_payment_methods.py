"""Payment methods are provider tokens: a card number is refused everywhere and stored nowhere (issue case 10)."""

from __future__ import annotations

import logging

import orjson
import pytest
import redis.asyncio as aioredis

from subgraphs.kit.auth import Viewer
from subgraphs.kit.cards import looks_like_card_number, refuse_card_number
from subgraphs.kit.errors import BadUserInput
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.providers.scenarios import CARD_SCENARIOS, describe_method
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import (
    INSUFFICIENT_FUNDS_CARD,
    books,
    order_created,
    order_id_of,
    payment_id_of,
    published,
    running_worker,
    wait_status,
)

CARD = "4242424242424242"
CUSTOMER = Viewer(user_id="u1", scopes=frozenset(), token="")


@pytest.mark.parametrize("value", [
    "4242424242424242", "4242 4242 4242 4242", "4000-0000-0000-0002", "378282246310005", "6011111111111117",
    "pm_4242424242424242", "card:5555555555554444;", "4000056655665556", "4222222222222",
])
def test_card_numbers_are_recognised(value: str) -> None:
    assert looks_like_card_number(value)
    with pytest.raises(BadUserInput) as refused:
        refuse_card_number(value, field="token")
    assert refused.value.extensions["reason"] == "CARD_NUMBER_REFUSED" and value not in refused.value.message


@pytest.mark.parametrize("value", [
    "pm_card_visa", "wallet_ok", "4242424242424241", "424242424242", "42424242424242424242", "order-2024-000123", "",
])
def test_tokens_and_other_numbers_are_not_card_numbers(value: str) -> None:
    assert not looks_like_card_number(value)


def test_every_test_method_is_a_token_and_shows_its_last_four_digits() -> None:
    assert all(token.startswith("pm_card_") and not looks_like_card_number(token) for token in CARD_SCENARIOS)
    assert describe_method("card", "pm_card_visa") == "•••• 4242"
    assert describe_method("card", "pm_unknown") == "••••" and describe_method("card", "") == "••••"


async def test_a_card_number_in_order_created_is_not_stored_queued_logged_or_charged(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """An order.created from an orders that did not refuse it (an older version): payments refuses it too."""
    caplog.set_level(logging.DEBUG)
    event = order_created(token=CARD)
    await service.on_order_created(event)
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None and payment["status"] == "FAILED" and payment["failure"]["final"] is True
    assert CARD not in orjson.dumps(payment, default=str).decode()
    assert await redis.zcard(core.config.queue_name) == 0  # no job, so no job arguments
    [failed] = await published(redis, core, "payment.failed")
    assert CARD not in orjson.dumps(failed).decode()
    assert CARD not in caplog.text
    assert (await books(core, order_id_of(event))).charges == ()


async def test_retry_with_a_card_number_is_bad_user_input(
    core: PaymentsCore, service: PaymentService, redis_url: str
) -> None:
    event = order_created(token=INSUFFICIENT_FUNDS_CARD)
    await service.on_order_created(event)
    async with running_worker(core, redis_url):
        await wait_status(core, payment_id_of(event), "FAILED")
    for card in (CARD, "4242 4242 4242 4242"):
        with pytest.raises(BadUserInput) as refused:
            await service.retry_payment(CUSTOMER, order_id_of(event), ("card", card))
        assert refused.value.extensions == {"code": "BAD_USER_INPUT", "reason": "CARD_NUMBER_REFUSED",
                                            "field": "paymentMethod.token"}
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None and payment["attempt"] == 1 and CARD not in orjson.dumps(payment, default=str).decode()
