"""Test tokens: which outcome a simulated provider gives for a card number or wallet token.

The tables are the documentation too (docs/payments.md lists them): like Stripe's test cards, a
token chooses a deterministic behaviour, so every path of the payment flow can be exercised.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Behaviour(enum.Enum):
    SUCCEED = "succeed"
    DECLINE = "decline"
    TRANSIENT_THEN_SUCCEED = "transient_then_succeed"  # fails N times per idempotency key, then succeeds
    ALWAYS_TRANSIENT = "always_transient"  # an outage: every call fails with a processing error
    TIMEOUT = "timeout"  # never answers; nothing is charged
    LOST_RESPONSE = "lost_response"  # charges, but the first answer never arrives; a retry replays it
    SLOW = "slow"  # charges, answers after PAYMENTS_SLOW_CHARGE_SECONDS


@dataclass(frozen=True)
class Scenario:
    behaviour: Behaviour
    error_code: str = ""
    message: str = ""
    # Declines the customer can fix with another card or more funds (the order may wait for a retry).
    retryable: bool = False


def _decline(code: str, message: str, *, retryable: bool = False) -> Scenario:
    return Scenario(Behaviour.DECLINE, code, message, retryable)


CARD_SCENARIOS: dict[str, Scenario] = {
    "4242424242424242": Scenario(Behaviour.SUCCEED),
    "5555555555554444": Scenario(Behaviour.SUCCEED),
    "4000000000000002": _decline("card_declined", "The card was declined."),
    "4000000000009979": _decline("stolen_card", "The card was reported stolen."),
    "4000000000009995": _decline("insufficient_funds", "The card has insufficient funds.", retryable=True),
    "4000000000000069": _decline("expired_card", "The card has expired.", retryable=True),
    "4000000000000119": Scenario(Behaviour.TRANSIENT_THEN_SUCCEED),
    "4000000000005126": Scenario(Behaviour.ALWAYS_TRANSIENT),
    "4000000000000259": Scenario(Behaviour.TIMEOUT),
    "4000000000000341": Scenario(Behaviour.LOST_RESPONSE),
    "4000000000003220": Scenario(Behaviour.SLOW),
}

WALLET_SCENARIOS: dict[str, Scenario] = {
    "wallet_ok": Scenario(Behaviour.SUCCEED),
    "wallet_declined": _decline("wallet_declined", "The wallet declined the payment."),
    "wallet_insufficient_funds": _decline("insufficient_funds", "The wallet balance is too low.", retryable=True),
    "wallet_transient": Scenario(Behaviour.TRANSIENT_THEN_SUCCEED),
    "wallet_outage": Scenario(Behaviour.ALWAYS_TRANSIENT),
    "wallet_timeout": Scenario(Behaviour.TIMEOUT),
    "wallet_lost_response": Scenario(Behaviour.LOST_RESPONSE),
    "wallet_slow": Scenario(Behaviour.SLOW),
}


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_scenario(token: str) -> Scenario:
    """A listed test card, else any well-formed card number succeeds and a malformed one is declined."""
    number = token.replace(" ", "").replace("-", "")
    if number in CARD_SCENARIOS:
        return CARD_SCENARIOS[number]
    if luhn_valid(number):
        return Scenario(Behaviour.SUCCEED)
    return _decline("invalid_number", "The card number is not a valid card number.")


def wallet_scenario(token: str) -> Scenario:
    return WALLET_SCENARIOS.get(token) or _decline("invalid_token", "The wallet token is not recognised.")
