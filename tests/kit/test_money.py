"""The one shared Money type."""

from __future__ import annotations

import strawberry

from subgraphs.kit.money import Money


@strawberry.type
class Query:
    @strawberry.field
    def price(self) -> Money:
        return Money.from_doc({"amount": "1999", "currency": "EUR"})


def test_money_is_a_shareable_type_of_minor_units_and_a_currency() -> None:
    sdl = strawberry.federation.Schema(query=Query).as_str()
    assert ('"""An amount in minor units of an ISO 4217 currency."""\n'
            "type Money @shareable {\n  amount: Int!\n  currency: String!\n}") in sdl


def test_money_from_a_document() -> None:
    assert Money.from_doc({"amount": 250, "currency": "USD", "extra": 1}) == Money(amount=250, currency="USD")
    result = strawberry.federation.Schema(query=Query).execute_sync("{ price { amount currency } }")
    assert result.data == {"price": {"amount": 1999, "currency": "EUR"}}
