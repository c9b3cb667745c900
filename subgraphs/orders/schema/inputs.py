"""Input types of placeOrder and their validation into a domain CheckoutRequest."""

from __future__ import annotations

import strawberry

from subgraphs.kit.errors import BadUserInput
from subgraphs.orders.checkout import CheckoutRequest
from subgraphs.orders.domain import RequestedLine
from subgraphs.orders.schema.enums import PaymentProvider

MAX_LINES = 100
MAX_QUANTITY = 999  # MAX_LINES x MAX_QUANTITY stays within the kit's MAX_UNITS_PER_ORDER
MAX_SKU_LENGTH = 64
MAX_KEY_LENGTH = 255
MAX_TOKEN_LENGTH = 256


@strawberry.input
class OrderLineInput:
    sku: str
    quantity: int


@strawberry.input
class PaymentInput:
    provider: PaymentProvider
    token: str = strawberry.field(description="The payment method token handed to the payments service.")


@strawberry.input(description="Either `lines`, or `fromCart: true` to order the signed-in user's cart.")
class PlaceOrderInput:
    payment: PaymentInput
    lines: list[OrderLineInput] | None = None
    from_cart: bool = False


def _printable(value: str) -> bool:
    return value.isprintable() and value == value.strip()


def checkout_request(data: PlaceOrderInput, idempotency_key: str) -> CheckoutRequest:
    """Validate the input (BAD_USER_INPUT on the first problem); an empty list of lines stays valid
    here, it is the typed EmptyOrder outcome."""
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH or not _printable(idempotency_key):
        raise BadUserInput(f"`idempotencyKey` must be 1..{MAX_KEY_LENGTH} printable characters without "
                           "surrounding spaces", argument="idempotencyKey")
    token = data.payment.token
    if not token or len(token) > MAX_TOKEN_LENGTH or not _printable(token):
        raise BadUserInput(f"`payment.token` must be 1..{MAX_TOKEN_LENGTH} printable characters",
                           argument="input.payment.token")
    if data.from_cart and data.lines is not None:
        raise BadUserInput("give either `lines` or `fromCart: true`, not both", argument="input")
    if not data.from_cart and data.lines is None:
        raise BadUserInput("give `lines` or `fromCart: true`", argument="input")
    lines: list[RequestedLine] | None = None
    if data.lines is not None:
        if len(data.lines) > MAX_LINES:
            raise BadUserInput(f"an order has at most {MAX_LINES} lines", argument="input.lines")
        lines = []
        for index, line in enumerate(data.lines):
            sku = line.sku
            if not sku or len(sku) > MAX_SKU_LENGTH or not _printable(sku):
                raise BadUserInput(f"`sku` must be 1..{MAX_SKU_LENGTH} printable characters",
                                   argument=f"input.lines.{index}.sku")
            if not 1 <= line.quantity <= MAX_QUANTITY:
                raise BadUserInput(f"`quantity` must be between 1 and {MAX_QUANTITY}",
                                   argument=f"input.lines.{index}.quantity")
            lines.append(RequestedLine(sku=sku, quantity=line.quantity))
    return CheckoutRequest(idempotency_key=idempotency_key, lines=lines, payment_provider=data.payment.provider,
                           payment_token=token)
