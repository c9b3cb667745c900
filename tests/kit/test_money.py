"""The one shared Money type and the MinorUnits scalar: beyond 32 bits, bounded to 2^53 - 1, typed errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import strawberry

from subgraphs.kit.errors import BadUserInput
from subgraphs.kit.money import (
    DESCRIPTION,
    MAX_AMOUNT,
    MAX_UNIT_PRICE,
    MAX_UNITS_PER_ORDER,
    MinorUnits,
    Money,
    check_amount,
)
from subgraphs.kit.schema import federation_schema

IDR_ORDER = 3_000_000_000  # 2 x 15,000,000.00 IDR: beyond GraphQL Int


@strawberry.type
class Query:
    @strawberry.field
    def price(self) -> Money:
        return Money.from_doc({"amount": "1999", "currency": "EUR"})

    @strawberry.field
    def echo(self, amount: MinorUnits) -> Money:
        return Money(amount=amount, currency="IDR")

    @strawberry.field
    def maybe(self, amount: MinorUnits | None = None) -> int | None:
        return None if amount is None else 1

    @strawberry.field
    def stored(self, amount: str) -> Money:
        """An amount as a broken store might hold it (the bounds keep such values out)."""
        value: Any = {"true": True, "float": 1.5, "text": "12", "big": MAX_AMOUNT + 1}[amount]
        return Money(amount=value, currency="EUR")


SCHEMA = federation_schema(query=Query)


def run(query: str, variables: dict[str, Any] | None = None) -> tuple[Any, list[tuple[str, Any]]]:
    result = SCHEMA.execute_sync(query, variables)
    return result.data, [(e.message, (e.extensions or {}).get("code")) for e in result.errors or []]


def test_money_is_a_shareable_type_of_minor_units_and_a_currency() -> None:
    sdl = SCHEMA.as_str()
    assert f'"""\n{DESCRIPTION}\n"""\nscalar MinorUnits\n' in sdl
    assert "@specifiedBy" not in sdl
    assert ('"""An amount in minor units of an ISO 4217 currency."""\n'
            "type Money @shareable {\n  amount: MinorUnits!\n  currency: String!\n}") in sdl


def test_money_from_a_document() -> None:
    assert Money.from_doc({"amount": 250, "currency": "USD", "extra": 1}) == Money(amount=250, currency="USD")
    assert run("{ price { amount currency } }") == ({"price": {"amount": 1999, "currency": "EUR"}}, [])


@pytest.mark.parametrize("amount", [IDR_ORDER, MAX_AMOUNT, -MAX_AMOUNT, 0, 1])
def test_amounts_beyond_32_bits_round_trip_as_json_integers(amount: int) -> None:
    assert run(f"{{ echo(amount: {amount}) {{ amount }} }}") == ({"echo": {"amount": amount}}, [])
    data, errors = run("query ($a: MinorUnits!) { echo(amount: $a) { amount } }", {"a": amount})
    assert (data, errors) == ({"echo": {"amount": amount}}, [])
    assert type(data["echo"]["amount"]) is int


def test_an_integral_float_variable_is_accepted_as_int_accepts_it() -> None:
    data, errors = run("query ($a: MinorUnits!) { echo(amount: $a) { amount } }", {"a": 3e9})
    assert (data, errors) == ({"echo": {"amount": IDR_ORDER}}, [])
    assert type(data["echo"]["amount"]) is int


@pytest.mark.parametrize("value", [True, False, 1.5, "12", "3000000000", MAX_AMOUNT + 1, -MAX_AMOUNT - 1,
                                   2**64, 1e300, [1], {"amount": 1}])
def test_bad_variables_are_bad_user_input(value: Any) -> None:
    data, errors = run("query ($a: MinorUnits!) { echo(amount: $a) { amount } }", {"a": value})
    assert data is None
    assert len(errors) == 1 and errors[0][1] == "BAD_USER_INPUT", errors
    assert "MinorUnits" in errors[0][0]


@pytest.mark.parametrize("literal", ["true", "1.5", "3e9", '"12"', "[1]", "{a: 1}", "ENUM",
                                     str(MAX_AMOUNT + 1), str(-MAX_AMOUNT - 1), str(2**70)])
def test_bad_literals_are_bad_user_input(literal: str) -> None:
    data, errors = run(f"{{ echo(amount: {literal}) {{ amount }} }}")
    assert data is None
    assert len(errors) == 1 and errors[0][1] == "BAD_USER_INPUT", errors


def test_null_is_only_accepted_where_the_argument_is_nullable() -> None:
    assert run("{ maybe(amount: null) }") == ({"maybe": None}, [])
    assert run("query ($a: MinorUnits) { maybe(amount: $a) }", {"a": None}) == ({"maybe": None}, [])
    data, errors = run("{ echo(amount: null) { amount } }")
    assert data is None and len(errors) == 1


@pytest.mark.parametrize("stored", ["true", "float", "text", "big"])
def test_an_amount_that_cannot_be_answered_is_a_masked_field_error_not_a_wrong_number(stored: str) -> None:
    data, errors = run(f'{{ stored(amount: "{stored}") {{ amount }} }}')
    assert data is None
    assert errors == [("Internal server error", None)]


def test_the_bounds_keep_every_cart_and_order_total_answerable() -> None:
    assert MAX_AMOUNT == 9_007_199_254_740_991
    assert MAX_UNIT_PRICE * MAX_UNITS_PER_ORDER <= MAX_AMOUNT
    assert check_amount(MAX_AMOUNT, "a total") == MAX_AMOUNT
    with pytest.raises(BadUserInput) as refused:
        check_amount(MAX_AMOUNT + 1, "the order total")
    assert refused.value.extensions == {"code": "BAD_USER_INPUT", "maximum": MAX_AMOUNT}


def test_a_refused_amount_is_the_clients_mistake_and_an_unanswerable_one_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="subgraphs.kit.schema"):
        run("query ($a: MinorUnits!) { echo(amount: $a) { amount } }", {"a": True})
        run("{ echo(amount: 1.5) { amount } }")
    assert [r.levelno for r in caplog.records] == [logging.DEBUG, logging.DEBUG]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="subgraphs.kit.schema"):
        run('{ stored(amount: "big") { amount } }')
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
