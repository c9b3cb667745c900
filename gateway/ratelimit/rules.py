"""Rate-limit rules: how many operations a client may send per period, per operation class.

A rule is written `NAME=COUNT/SECONDS` (the rule covers the root field NAME) or
`NAME:FIELD+FIELD=COUNT/SECONDS` (one budget shared by several root fields); `NAME=off` drops a
default rule. Rules given in the environment replace the default of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass

GENERAL = "general"


@dataclass(frozen=True, slots=True)
class RateRule:
    """`count` operations per `period` seconds (bursts of up to `count` allowed), for `fields`."""

    name: str
    count: int
    period: float
    fields: frozenset[str] = frozenset()

    @property
    def interval(self) -> float:
        """Seconds between two operations at the sustained rate (GCRA emission interval)."""
        return self.period / self.count


DEFAULT_GENERAL = RateRule(GENERAL, 600, 60.0)
CART_WRITES = frozenset({"addToCart", "updateCartLine", "removeCartLine", "clearCart"})
DEFAULT_RULES: tuple[RateRule, ...] = (
    RateRule("placeOrder", 10, 60.0, frozenset({"placeOrder"})),
    RateRule("retryPayment", 5, 60.0, frozenset({"retryPayment"})),
    RateRule("refundPayment", 10, 60.0, frozenset({"refundPayment"})),
    RateRule("cartWrites", 120, 60.0, CART_WRITES),
)


def parse_rate(name: str, text: str) -> tuple[int, float]:
    """`COUNT/SECONDS` (e.g. `10/60`, `5/1.5`); ValueError naming the rule otherwise."""
    count_text, slash, period_text = text.strip().partition("/")
    try:
        count, period = int(count_text), float(period_text) if slash else 0.0
    except ValueError:
        raise ValueError(f"rate limit {name!r} must be COUNT/SECONDS, got {text!r}") from None
    if count <= 0 or period <= 0:
        raise ValueError(f"rate limit {name!r} needs a positive count and period, got {text!r}")
    return count, period


def parse_general(text: str) -> RateRule:
    count, period = parse_rate(GENERAL, text)
    return RateRule(GENERAL, count, period)


def parse_rules(text: str, defaults: tuple[RateRule, ...] = DEFAULT_RULES) -> tuple[RateRule, ...]:
    """The rules of a `RATE_LIMIT_RULES` value merged over `defaults` (by name)."""
    rules = {rule.name: rule for rule in defaults}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        head, eq, rate = item.partition("=")
        name, colon, field_list = head.strip().partition(":")
        if not eq or not name:
            raise ValueError(f"RATE_LIMIT_RULES items are NAME[:FIELD+FIELD]=COUNT/SECONDS, got {item!r}")
        if rate.strip().lower() == "off":
            rules.pop(name, None)
            continue
        fields = frozenset(f.strip() for f in field_list.split("+") if f.strip()) if colon else frozenset({name})
        if not fields:
            raise ValueError(f"rate limit {name!r} names no root fields")
        count, period = parse_rate(name, rate)
        rules[name] = RateRule(name, count, period, fields)
    return tuple(rules.values())
