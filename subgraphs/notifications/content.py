"""What a notifying event says: who it is for, which order, and the context its templates render with.

The same builder makes the context for real events and for the start-up check's sample events, so a
template that uses a name the builder does not provide fails at start-up, not at send time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from subgraphs.kit.events import Event
from subgraphs.kit.events.types import (
    EventData,
    OrderCancelled,
    OrderCreated,
    OrderFulfilled,
    OrderPaid,
    PaymentFailed,
    PaymentRefunded,
)
from subgraphs.notifications.model import EVENT_TYPES

# ISO 4217 minor-unit exponents that are not 2.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

_TYPES: dict[str, type[EventData]] = {
    cls.TYPE: cls
    for cls in (OrderCreated, OrderPaid, OrderCancelled, OrderFulfilled, PaymentFailed, PaymentRefunded)
}


def format_money(amount: int, currency: str) -> str:
    """Minor units to a display string: (2500, "EUR") -> "EUR 25.00", (500, "JPY") -> "JPY 500"."""
    code = currency.upper()
    exponent = _EXPONENTS.get(code, 2)
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 10**exponent)
    text = f"{units:,}" if exponent == 0 else f"{units:,}.{minor:0{exponent}d}"
    return f"{code} {sign}{text}"


@dataclass(frozen=True)
class EventFacts:
    """The routing facts of a notifying event."""

    user_id: str
    order_id: str | None
    order_number: str | None
    customer_email: str | None


def parse(event: Event) -> EventData:
    """The typed data of a notifying event (ValueError for other types or malformed data)."""
    cls = _TYPES.get(event.type)
    if cls is None:
        raise ValueError(f"{event.type} is not an event this service notifies about")
    try:
        return cls.from_event(event)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"malformed {event.type} event {event.id}: {exc}") from None


def facts(data: EventData) -> EventFacts:
    order_id: str | None = getattr(data, "order_id", None)
    return EventFacts(
        user_id=str(getattr(data, "user_id", "")),
        order_id=order_id,
        order_number=getattr(data, "order_number", None),
        customer_email=data.customer_email if isinstance(data, OrderCreated) else None,
    )


def _line(raw: dict[str, Any], currency: str) -> dict[str, Any]:
    quantity = int(raw.get("quantity") or 0)
    unit_price = int(raw.get("unit_price") or 0)
    line_currency = str(raw.get("currency") or currency)
    return {
        "name": str(raw.get("product_name") or raw.get("sku") or "item"),
        "sku": str(raw.get("sku") or ""),
        "quantity": quantity,
        "unit_price": format_money(unit_price, line_currency),
        "total": format_money(unit_price * quantity, line_currency),
    }


def _specific(data: EventData) -> dict[str, Any]:
    match data:
        case OrderCreated():
            return {
                "total": format_money(data.total_amount, data.currency),
                "lines": [_line(line, data.currency) for line in data.lines if isinstance(line, dict)],
                "payment_provider": data.payment_provider,
            }
        case OrderPaid():
            return {"total": format_money(data.total_amount, data.currency)}
        case OrderCancelled():
            return {"reason": data.reason}
        case OrderFulfilled():
            return {}
        case PaymentFailed():
            return {
                "amount": format_money(data.amount, data.currency),
                "reason": data.reason,
                "error_code": data.error_code,
                "final": data.final,
            }
        case PaymentRefunded():
            return {
                "amount": format_money(data.amount, data.currency),
                "refund_id": data.refund_id,
                "fully_refunded": data.fully_refunded,
            }
    raise ValueError(f"no template context for {type(data).__name__}")


def template_context(event: Event, data: EventData, *, order_number: str | None, shop_name: str) -> dict[str, Any]:
    """Everything a template of this event may use. `order_number` comes from the event or, for
    payment events (which do not carry it), from the order this service saw earlier."""
    info = facts(data)
    order_id = info.order_id or ""
    return {
        "shop_name": shop_name,
        "event": {"id": event.id, "type": event.type, "occurred_at": event.occurred_at},
        "user": {"id": info.user_id},
        "order": {"id": order_id, "number": info.order_number or order_number or order_id},
        **_specific(data),
    }


def _sample(data: EventData, variant: int = 0) -> Event:
    return data.envelope(source="sample", subject="order:sample", event_id=f"sample-{data.TYPE}-{variant}")


_ORDER: dict[str, Any] = {"order_id": "ord_sample", "order_number": "1001", "user_id": "u_sample"}
_PAYMENT: dict[str, Any] = {"payment_id": "pay_sample", "order_id": "ord_sample", "user_id": "u_sample", "amount": 4998,
            "currency": "EUR"}

# Sample events per type, with a variant for every branch the templates take (StrictUndefined only
# sees the branches a render goes through).
SAMPLE_EVENTS: dict[str, tuple[Event, ...]] = {
    OrderCreated.TYPE: (
        _sample(OrderCreated(
            **_ORDER, total_amount=4998, currency="EUR",
            lines=[{"variant_id": "v1", "sku": "TEE-M", "product_id": "p1", "product_name": "T-shirt <M>",
                    "quantity": 2, "unit_price": 2499, "currency": "EUR"}],
            payment_provider="card", customer_email="sample@example.com",
        )),
        _sample(OrderCreated(**_ORDER, total_amount=0, currency="JPY", lines=[], payment_provider="wallet"), 1),
    ),
    OrderPaid.TYPE: (_sample(OrderPaid(**_ORDER, total_amount=4998, currency="EUR", payment_id="pay_sample")),),
    OrderCancelled.TYPE: (_sample(OrderCancelled(**_ORDER, reason="payment declined")),),
    OrderFulfilled.TYPE: (_sample(OrderFulfilled(**_ORDER)),),
    PaymentFailed.TYPE: (
        _sample(PaymentFailed(**_PAYMENT, provider="card", reason="card declined", error_code="card_declined")),
        _sample(PaymentFailed(**_PAYMENT, provider="card", reason="provider timeout", error_code="timeout",
                              final=False), 1),
    ),
    PaymentRefunded.TYPE: (
        _sample(PaymentRefunded(**_PAYMENT, refund_id="re_sample", fully_refunded=True)),
        _sample(PaymentRefunded(**_PAYMENT, refund_id="re_sample2", fully_refunded=False), 1),
    ),
}
if tuple(SAMPLE_EVENTS) != EVENT_TYPES:
    raise RuntimeError("every notifying event type needs sample events")


def sample_contexts(event_type: str, shop_name: str = "Supershop") -> list[dict[str, Any]]:
    """Template contexts of the sample events of one type, built like real ones."""
    return [
        template_context(event, parse(event), order_number="1001", shop_name=shop_name)
        for event in SAMPLE_EVENTS[event_type]
    ]
