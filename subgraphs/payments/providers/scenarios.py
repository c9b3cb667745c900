"""Test payment methods: which outcome a simulated provider gives for a payment-method token.

The tables are the documentation too (docs/payments.md lists them): like Stripe's test payment methods
(`pm_card_visa`), a token chooses a deterministic behaviour, so every path of the payment flow can be
exercised. Payment methods are tokens, never card numbers (those are refused before they get here).
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
    WRONG_AMOUNT = "wrong_amount"  # a provider bug: captures one minor unit less than asked


@dataclass(frozen=True)
class Scenario:
    behaviour: Behaviour
    error_code: str = ""
    message: str = ""
    # Declines the customer can fix with another card or more funds (the order may wait for a retry).
    retryable: bool = False
    # What the API shows of the method ("•••• 4242"), like a provider's card.last4.
    last4: str = ""


def _decline(code: str, message: str, last4: str = "", *, retryable: bool = False) -> Scenario:
    return Scenario(Behaviour.DECLINE, code, message, retryable, last4)


CARD_SCENARIOS: dict[str, Scenario] = {
    "pm_card_visa": Scenario(Behaviour.SUCCEED, last4="4242"),
    "pm_card_mastercard": Scenario(Behaviour.SUCCEED, last4="4444"),
    "pm_card_chargeDeclined": _decline("card_declined", "The card was declined.", "0002"),
    "pm_card_chargeDeclinedStolenCard": _decline("stolen_card", "The card was reported stolen.", "9979"),
    "pm_card_chargeDeclinedInsufficientFunds": _decline(
        "insufficient_funds", "The card has insufficient funds.", "9995", retryable=True),
    "pm_card_chargeDeclinedExpiredCard": _decline("expired_card", "The card has expired.", "0069", retryable=True),
    "pm_card_transient": Scenario(Behaviour.TRANSIENT_THEN_SUCCEED, last4="0119"),
    "pm_card_outage": Scenario(Behaviour.ALWAYS_TRANSIENT, last4="5126"),
    "pm_card_timeout": Scenario(Behaviour.TIMEOUT, last4="0259"),
    "pm_card_lostResponse": Scenario(Behaviour.LOST_RESPONSE, last4="0341"),
    "pm_card_slow": Scenario(Behaviour.SLOW, last4="3220"),
    "pm_card_wrongAmount": Scenario(Behaviour.WRONG_AMOUNT, last4="0077"),
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

UNKNOWN_CARD_METHOD = _decline("invalid_payment_method", "No such payment method.")
UNKNOWN_WALLET_TOKEN = _decline("invalid_token", "The wallet token is not recognised.")


def card_scenario(token: str) -> Scenario:
    """A listed test payment method; any other token is declined `invalid_payment_method` (final)."""
    return CARD_SCENARIOS.get(token, UNKNOWN_CARD_METHOD)


def wallet_scenario(token: str) -> Scenario:
    return WALLET_SCENARIOS.get(token, UNKNOWN_WALLET_TOKEN)


def describe_method(provider: str, token: str) -> str:
    """What the API shows of a payment method: the card's last four digits, never the whole token."""
    if provider == "card":
        last4 = CARD_SCENARIOS[token].last4 if token in CARD_SCENARIOS else ""
        return f"•••• {last4}" if last4 else "••••"
    return f"{token[:4]}…" if len(token) > 4 else "…"
