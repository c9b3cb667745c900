"""Identifiers: products and variants have 24-hex ids (ObjectId form, stored as strings)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from bson import ObjectId

from subgraphs.kit.errors import BadUserInput

_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
# Order ids become keys of a variant's `holds` map, so they may not contain `.` or `$`.
_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def new_id() -> str:
    return str(ObjectId())


def stable_id(*parts: str) -> str:
    """A deterministic id for seeded data, so a re-seed upserts the same documents."""
    return hashlib.sha1(":".join(parts).encode()).hexdigest()[:24]


def is_object_id(value: str) -> bool:
    return bool(_OBJECT_ID.match(value))


def require_product_id(value: str) -> str:
    if not is_object_id(value):
        raise BadUserInput(f"malformed product id {value[:64]!r}: expected 24 hexadecimal digits", argument="id")
    return value


def require_order_id(value: str) -> str:
    if not _ORDER_ID.match(value):
        raise BadUserInput("malformed order id: expected 1-128 characters of A-Z, a-z, 0-9, '_' or '-'",
                           argument="orderId")
    return value


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
