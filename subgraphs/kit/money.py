"""`Money`, the one definition of the shareable type that every subgraph returning amounts exposes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry


@strawberry.federation.type(shareable=True, description="An amount in minor units of an ISO 4217 currency.")
class Money:
    """Federation requires identical definitions of a shareable type in every subgraph: so they share
    this one. Services keep their own rules for which currencies and amounts they accept."""

    amount: int
    currency: str

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Money:
        """From a stored document or entity representation with `amount` and `currency`."""
        return cls(amount=int(doc["amount"]), currency=str(doc["currency"]))
