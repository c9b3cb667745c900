"""Card numbers must never enter the system: payment methods are provider tokens (`pm_card_visa`).

One check shared by every entry point that accepts a payment method (orders' placeOrder, payments'
retryPayment, payments' order.created consumer): a value that is, or contains, 13-19 digits passing
the Luhn check (spaces and dashes between digits allowed, as people type them) is refused.
"""

from __future__ import annotations

import re

from subgraphs.kit.errors import BadUserInput

# A run of 13-19 digits, optionally separated by single spaces or dashes ("4242 4242 4242 4242").
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")
MIN_DIGITS, MAX_DIGITS = 13, 19
CARD_NUMBER_REFUSED = "CARD_NUMBER_REFUSED"


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def looks_like_card_number(value: str) -> bool:
    """True when `value` is or contains 13-19 digits (spaces/dashes between them allowed) passing Luhn."""
    for match in _DIGIT_RUN.finditer(value):
        digits = re.sub(r"[ -]", "", match.group())
        if MIN_DIGITS <= len(digits) <= MAX_DIGITS and luhn_valid(digits):
            return True
    return False


def refuse_card_number(value: str, **details: str) -> None:
    """Raise BAD_USER_INPUT (reason CARD_NUMBER_REFUSED) for a card number; the message never echoes it."""
    if looks_like_card_number(value):
        raise BadUserInput(
            "card numbers are not accepted: give a payment-method token (e.g. pm_card_visa)",
            reason=CARD_NUMBER_REFUSED, **details,
        )
