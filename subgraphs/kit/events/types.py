"""Every event type on the bus, as a typed class. `data` of the envelope is `asdict()` of these.

Amounts are integers in minor units with an ISO 4217 currency, as everywhere in the system.
Add fields with defaults only, so older consumers keep reading newer events (versioned by type).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from subgraphs.kit.events.envelope import Event

T = TypeVar("T", bound="EventData")


@dataclass(frozen=True)
class EventData:
    TYPE: ClassVar[str]

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    def envelope(self, *, source: str, subject: str, event_id: str | None = None) -> Event:
        if event_id is None:
            return Event(type=self.TYPE, source=source, subject=subject, data=self.to_data())
        return Event(type=self.TYPE, source=source, subject=subject, data=self.to_data(), id=event_id)

    @classmethod
    def from_event(cls: type[T], event: Event) -> T:
        if event.type != cls.TYPE:
            raise ValueError(f"expected a {cls.TYPE} event, got {event.type}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in event.data.items() if k in known})


@dataclass(frozen=True)
class OrderLineData:
    variant_id: str
    sku: str
    product_id: str
    product_name: str
    quantity: int
    unit_price: int
    currency: str


@dataclass(frozen=True)
class OrderEventData(EventData):
    """What every order event carries."""

    order_id: str
    order_number: str
    user_id: str


@dataclass(frozen=True)
class OrderCreated(OrderEventData):
    TYPE: ClassVar[str] = "order.created"
    total_amount: int
    currency: str
    lines: list[dict[str, Any]]
    payment_provider: str = "card"
    # A payment-method token of the provider (`pm_card_visa`, `wallet_ok`), never a card number:
    # orders refuses card numbers at checkout, payments refuses them again (kit.cards).
    payment_token: str = ""
    customer_email: str | None = None


@dataclass(frozen=True)
class OrderPaid(OrderEventData):
    TYPE: ClassVar[str] = "order.paid"
    total_amount: int
    currency: str
    payment_id: str | None = None


@dataclass(frozen=True)
class OrderCancelled(OrderEventData):
    TYPE: ClassVar[str] = "order.cancelled"
    reason: str


@dataclass(frozen=True)
class OrderFulfilled(OrderEventData):
    TYPE: ClassVar[str] = "order.fulfilled"


@dataclass(frozen=True)
class OrderRefunded(OrderEventData):
    TYPE: ClassVar[str] = "order.refunded"
    total_amount: int
    currency: str
    refund_id: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class PaymentEventData(EventData):
    """What every payment event carries."""

    payment_id: str
    order_id: str
    user_id: str
    amount: int
    currency: str


@dataclass(frozen=True)
class PaymentProcessed(PaymentEventData):
    TYPE: ClassVar[str] = "payment.processed"
    provider: str
    provider_reference: str


@dataclass(frozen=True)
class PaymentFailed(PaymentEventData):
    TYPE: ClassVar[str] = "payment.failed"
    provider: str
    reason: str
    error_code: str
    final: bool = True


@dataclass(frozen=True)
class PaymentRefunded(PaymentEventData):
    TYPE: ClassVar[str] = "payment.refunded"
    refund_id: str
    fully_refunded: bool


@dataclass(frozen=True)
class NotificationSent(EventData):
    TYPE: ClassVar[str] = "notification.sent"
    notification_id: str
    user_id: str
    channel: str
    template: str
    order_id: str | None = None
    source_event_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


ALL_EVENT_TYPES: tuple[type[EventData], ...] = (
    OrderCreated,
    OrderPaid,
    OrderCancelled,
    OrderFulfilled,
    OrderRefunded,
    PaymentProcessed,
    PaymentFailed,
    PaymentRefunded,
    NotificationSent,
)

EVENT_TYPES_BY_NAME: dict[str, type[EventData]] = {cls.TYPE: cls for cls in ALL_EVENT_TYPES}
