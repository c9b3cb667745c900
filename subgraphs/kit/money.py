"""Money: the `MinorUnits` scalar, the shareable `Money` type and the bounds on amounts, shared by every
service (federation requires a shareable type to be defined identically in every subgraph).

Representation: an amount is an integer number of minor units of its currency (cents for EUR, yen for
JPY), served as the custom scalar `MinorUnits`, a JSON integer. GraphQL `Int` is 32-bit: it cannot
carry 3,000,000,000 (30,000,000.00 IDR). `MinorUnits` carries every integer with |n| <= 2^53 - 1, the
integers that any JSON client (JavaScript's doubles included) reads exactly. On input it accepts what
`Int` accepts (an integer, or an integral float in variables), only with that wider range; bools,
strings, fractions and anything out of range are `BAD_USER_INPUT`.

Bounds, enforced before anything is written, so that nothing stored can fail to be answered:
every cart and order holds at most `MAX_UNITS_PER_ORDER` units and every unit price is at most
`MAX_UNIT_PRICE`, so no line total, cart subtotal or order total exceeds `MAX_AMOUNT`. Orders also
checks its totals against `MAX_AMOUNT` before it inserts an order, and payments its amounts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, IntValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from subgraphs.kit.errors import BadUserInput

MAX_AMOUNT = 2**53 - 1
"""The largest magnitude of an amount in minor units: 9,007,199,254,740,991."""
MAX_UNITS_PER_ORDER = 100_000
"""Units one cart or order may hold (products: 100 lines of 1000; orders: 100 lines of 999)."""
MAX_UNIT_PRICE = 90_000_000_000
"""The highest price of one unit (900,000,000.00 in a currency with cents)."""
assert MAX_UNIT_PRICE * MAX_UNITS_PER_ORDER <= MAX_AMOUNT

MinorUnits = NewType("MinorUnits", int)
"""The Python type of a `MinorUnits` argument or input field (an int)."""

SCALAR_NAME = "MinorUnits"
DESCRIPTION = (
    "An amount in minor units of its currency (cents for EUR, yen for JPY), as a JSON integer of at most "
    f"{MAX_AMOUNT} (2^53 - 1) in magnitude, which every JSON client reads exactly."
)


def in_range(amount: int) -> bool:
    return -MAX_AMOUNT <= amount <= MAX_AMOUNT


def check_amount(amount: int, what: str, **details: Any) -> int:
    """`amount`, or BAD_USER_INPUT when it lies beyond what `MinorUnits` can carry."""
    if not in_range(amount):
        raise BadUserInput(f"{what} of {amount} minor units is beyond the largest amount, {MAX_AMOUNT}",
                           maximum=MAX_AMOUNT, **details)
    return amount


def _refused(message: str, node: ValueNode | None = None) -> GraphQLError:
    # graphql-core copies these extensions onto the variable or validation error it reports.
    return GraphQLError(message, node, extensions={"code": "BAD_USER_INPUT"})


def parse_value(value: Any) -> int:
    """A variable's JSON value: an integer, or an integral float (as `Int` accepts), within the range."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refused(f"{SCALAR_NAME} must be an integer number of minor units, not {value!r}")
    if not in_range(value):
        raise _refused(f"{SCALAR_NAME} must be at most {MAX_AMOUNT} in magnitude, not {value}")
    return value


def parse_literal(node: ValueNode, _variables: Any = None) -> int:
    """An inline value: an integer literal only (as for `Int`), within the range."""
    if not isinstance(node, IntValueNode):
        raise _refused(f"{SCALAR_NAME} must be an integer number of minor units", node)
    value = int(node.value)
    if not in_range(value):
        raise _refused(f"{SCALAR_NAME} must be at most {MAX_AMOUNT} in magnitude, not {value}", node)
    return value


def serialize(value: Any) -> int:
    """An amount to answer. A value out of range is a bug (the bounds keep it from being stored): it is
    an internal error of that field, logged, never a wrong number."""
    if isinstance(value, bool) or not isinstance(value, int) or not in_range(value):
        raise ValueError(f"{SCALAR_NAME} cannot represent {value!r}")
    return int(value)


MINOR_UNITS: ScalarDefinition = strawberry.scalar(
    name=SCALAR_NAME, description=DESCRIPTION, serialize=serialize, parse_value=parse_value,
    parse_literal=parse_literal,
)
SCALARS: dict[object, ScalarDefinition] = {MinorUnits: MINOR_UNITS}
"""The kit's scalar map: `federation_schema` passes it to every service schema."""


@strawberry.federation.type(shareable=True, description="An amount in minor units of an ISO 4217 currency.")
class Money:
    """Services keep their own rules for which currencies and amounts they accept."""

    amount: int = strawberry.field(graphql_type=MinorUnits)
    currency: str

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Money:
        """From a stored document or entity representation with `amount` and `currency`."""
        return cls(amount=int(doc["amount"]), currency=str(doc["currency"]))
