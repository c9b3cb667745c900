"""The order status machine and the pure rules of the orders domain (no I/O)."""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass

import orjson

ORDER_ID_NAMESPACE = uuid.UUID("6f1c9a52-3d1e-5b8e-9a57-2f0f6f7f4b10")
ORDER_NUMBER_PREFIX = "SO-"


class OrderStatus(enum.Enum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    PAID = "PAID"
    FULFILLED = "FULFILLED"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"


ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.AWAITING_PAYMENT: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.FULFILLED, OrderStatus.REFUNDED}),
    OrderStatus.FULFILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}

# Taken only by orders itself, never asked for: a paid order whose units products can no longer commit
# (nor hold again) is cancelled, so no order rests PAID without its stock; payments refunds the capture
# of a cancelled order automatically.
SYSTEM_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PAID: frozenset({OrderStatus.CANCELLED}),
}

# An order in a final state never changes again; live subscriptions complete there.
FINAL_STATUSES: frozenset[OrderStatus] = frozenset(s for s, nxt in ALLOWED_TRANSITIONS.items() if not nxt)


def can_transition(current: OrderStatus, target: OrderStatus, *, system: bool = False) -> bool:
    return target in ALLOWED_TRANSITIONS[current] or (system and target in SYSTEM_TRANSITIONS.get(current, ()))


class StockAction(enum.Enum):
    """A call owed to products after a transition, kept on the order until products confirmed it."""

    RELEASE = "release"
    COMMIT = "commit"


STOCK_ACTION_ON_ENTER: dict[OrderStatus, StockAction] = {
    OrderStatus.CANCELLED: StockAction.RELEASE,
    OrderStatus.PAID: StockAction.COMMIT,
}


class PaymentProvider(enum.Enum):
    CARD = "card"
    WALLET = "wallet"


@dataclass(frozen=True)
class RequestedLine:
    sku: str
    quantity: int


def order_id_for(user_id: str, idempotency_key: str) -> str:
    """The order id of a checkout, known before anything is reserved, so a retry reuses its reservation."""
    return str(uuid.uuid5(ORDER_ID_NAMESPACE, f"{user_id}\x1f{idempotency_key}"))


def format_order_number(sequence: int) -> str:
    return f"{ORDER_NUMBER_PREFIX}{sequence:06d}"


def merge_lines(lines: list[RequestedLine]) -> list[RequestedLine]:
    """One line per SKU (quantities of repeated SKUs added up), in a stable order."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return [RequestedLine(sku=sku, quantity=qty) for sku, qty in sorted(totals.items())]


def request_fingerprint(payload: object) -> str:
    """A stable digest of a checkout request, to tell a retry from a reuse of its idempotency key."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def is_order_id(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (ValueError, AttributeError, TypeError):
        return False
