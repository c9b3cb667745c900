"""The pure rules of payments (no I/O): statuses, deterministic ids, idempotency keys, refund maths."""

from __future__ import annotations

import enum
import random
import uuid

PAYMENT_ID_NAMESPACE = uuid.UUID("0b7f3c1e-5a2d-5e8f-9c64-7d2e1a9b3f50")
EVENT_ID_NAMESPACE = uuid.UUID("4e9a2b7c-1d3f-5a6e-8b0c-9f1e2d3c4b5a")
REFUND_ID_NAMESPACE = uuid.UUID("a3c5e7f9-2b4d-5f61-8a9c-0e1f2a3b4c5d")


class PaymentStatus(enum.Enum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"


# Statuses in which the job may still call the provider for the current attempt.
OPEN_STATUSES = (PaymentStatus.PENDING.value, PaymentStatus.PROCESSING.value)
# Statuses in which money was captured (and may be refunded).
CAPTURED_STATUSES = (
    PaymentStatus.SUCCEEDED.value,
    PaymentStatus.PARTIALLY_REFUNDED.value,
    PaymentStatus.REFUNDED.value,
)
REFUNDABLE_STATUSES = (PaymentStatus.SUCCEEDED.value, PaymentStatus.PARTIALLY_REFUNDED.value)


class AttemptOutcome(enum.Enum):
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    # The provider answered that it did nothing (processing error): retried with the same key.
    TRANSIENT_ERROR = "TRANSIENT_ERROR"
    # No answer in time / the provider could not be reached: it may have charged (outcome unknown).
    TIMEOUT = "TIMEOUT"
    UNKNOWN = "UNKNOWN"
    # The provider captured another amount than asked for: never accepted, refunded.
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"


# Tries after which only the provider's books can say whether money moved.
UNKNOWN_OUTCOMES = (AttemptOutcome.TIMEOUT.value, AttemptOutcome.UNKNOWN.value)


class RefundStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class OrderState(enum.Enum):
    """What payments knows of the order, from order.paid / order.cancelled events."""

    OPEN = "OPEN"
    PAID = "PAID"
    CANCELLED = "CANCELLED"


PROVIDERS = ("card", "wallet")


def payment_id_for(order_id: str) -> str:
    """One payment per order: its id is derived from the order id, so a redelivered event finds it."""
    return str(uuid.uuid5(PAYMENT_ID_NAMESPACE, order_id))


def job_id_for(payment_id: str, attempt: int) -> str:
    return f"pay:{payment_id}:{attempt}"


def idempotency_key_for(payment_id: str, attempt: int) -> str:
    """Sent to the provider: the same attempt never charges twice, however often its job runs."""
    return f"{payment_id}:{attempt}"


# Refunds payments makes on its own, for money captured without a paid order behind it.
ORDER_CANCELLED = "order-cancelled"
AMOUNT_MISMATCH = "amount-mismatch"
SYSTEM_KEY_PREFIX = "system:"


def refund_id_for(payment_id: str, idempotency_key: str) -> str:
    """The refund's id, also its idempotency key at the provider: one refund per (payment, key)."""
    return str(uuid.uuid5(REFUND_ID_NAMESPACE, f"{payment_id}\x1f{idempotency_key}"))


def implied_refund_key(amount: int | None, reason: str | None) -> str:
    """The key of a refund asked for without one: what the request means (the amount, or "the rest",
    and the reason), so a client's retry of the same request is the same refund, never a second one."""
    return f"implied:{'rest' if amount is None else amount}:{reason or ''}"


def system_refund_key(cause: str, covered: int) -> str:
    """One refund per cause and per state of the payment: `covered` is what was refunded or held when
    the refund was decided, so every actor deciding it from the same state makes the same refund."""
    return f"{SYSTEM_KEY_PREFIX}{cause}:{covered}"


def outcome_event_id(kind: str, payment_id: str, discriminator: str | int) -> str:
    """Deterministic event ids: a repeated transition publishes (and is consumed) once."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{kind}\x1f{payment_id}\x1f{discriminator}").hex


def backoff_seconds(try_number: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with "full jitter": uniform in [base/2, min(cap, base * 2**(try-1))]."""
    ceiling = min(cap, base * (2 ** max(0, try_number - 1)))
    low = min(base / 2, ceiling)
    return (rng or random).uniform(low, ceiling)


def net_captured(payment: dict[str, object]) -> int:
    """Captured minus refunded, in minor units (0 for payments that captured nothing)."""
    captured = payment.get("captured_amount") or 0
    refunded = payment.get("refunded_amount") or 0
    assert isinstance(captured, int) and isinstance(refunded, int)
    return captured - refunded


def status_after_refund(captured: int, refunded_total: int) -> PaymentStatus:
    return PaymentStatus.REFUNDED if refunded_total >= captured else PaymentStatus.PARTIALLY_REFUNDED
