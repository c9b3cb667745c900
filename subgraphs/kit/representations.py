"""Reading entity representations (`_entities(representations: ...)`) as the client input they are.

The gateway builds representations from other subgraphs' answers, but anyone who reaches a subgraph
can send one, and a subgraph must not trust another's data blindly. Every problem is answered with
`REPRESENTATION_INVALID`, naming the entity type and the field, at the representation's own index
in `_entities`, never with a masked internal error:

- the envelope (`check_envelope`, run by the kit's schema before any `resolve_reference`): an object
  whose `__typename` names an entity type of this subgraph;
- the fields a `resolve_reference` reads: keys (`entity_id`) and `@requires` fields (`money`, ...).

Fields a `resolve_reference` does not read are ignored, as Federation allows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import strawberry

from subgraphs.kit.errors import AppError
from subgraphs.kit.money import in_range

MAX_ID_LENGTH = 512


class RepresentationInvalid(AppError):
    code = "REPRESENTATION_INVALID"

    def __init__(self, typename: str | None, field: str | None, problem: str) -> None:
        where = f"{typename}.{field}" if typename and field else typename or field or "the representation"
        details = {key: value for key, value in (("typename", typename), ("field", field)) if value}
        super().__init__(f"invalid {where} in an entity representation: {problem}", **details)


def kind(value: object) -> str:
    """A JSON-ish name of a value's type, for error messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def check_envelope(representation: object, entity_types: Collection[str]) -> None:
    """An object with a `__typename` naming one of `entity_types` (raises RepresentationInvalid)."""
    if not isinstance(representation, dict):
        raise RepresentationInvalid(None, None, f"must be an object, got {kind(representation)}")
    typename = representation.get("__typename")
    if not isinstance(typename, str):
        raise RepresentationInvalid(None, "__typename", f"must be a type name, got {kind(typename)}")
    if typename not in entity_types:
        raise RepresentationInvalid(None, "__typename", f"{typename[:100]!r} is not an entity type of this subgraph")


Resolve = Callable[[Any, list[Any]], list[Any]]


def resolve_checked(
    resolve: Resolve, info: Any, representations: list[Any], entity_types: Collection[str]
) -> list[Any]:
    """Run `resolve` (the federation `_entities` resolver) on the well-formed representations only;
    each malformed one gets its RepresentationInvalid at its own index, the others resolve as usual."""
    results: list[Any] = [None] * len(representations)
    valid: list[int] = []
    for index, representation in enumerate(representations):
        try:
            check_envelope(representation, entity_types)
        except RepresentationInvalid as exc:
            results[index] = exc
        else:
            valid.append(index)
    if valid:
        resolved = resolve(info, [representations[index] for index in valid])
        for index, result in zip(valid, resolved, strict=True):
            results[index] = result
    return results


def entity_id(value: object, typename: str, field: str = "id") -> strawberry.ID:
    """A key field of type ID!: a non-empty string (or an integer, as ID input allows)."""
    if value is None:
        raise RepresentationInvalid(typename, field, "the key field is missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RepresentationInvalid(typename, field, f"must be an ID (a string), got {kind(value)}")
    text = str(value)
    if not text or len(text) > MAX_ID_LENGTH:
        raise RepresentationInvalid(typename, field, f"must be 1 to {MAX_ID_LENGTH} characters")
    return strawberry.ID(text)


def integer(value: object, typename: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RepresentationInvalid(typename, field, f"must be an integer, got {kind(value)}")
    return value


def money(value: object, typename: str, field: str) -> dict[str, Any]:
    """A `Money` object (`{amount: MinorUnits, currency: ISO 4217 code}`), e.g. an @requires field."""
    if not isinstance(value, Mapping):
        raise RepresentationInvalid(typename, field, f"must be a Money object, got {kind(value)}")
    amount = integer(value.get("amount"), typename, f"{field}.amount")
    if not in_range(amount):
        raise RepresentationInvalid(typename, f"{field}.amount", "is beyond what MinorUnits can carry")
    currency = value.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isascii() and currency.isupper()):
        raise RepresentationInvalid(typename, f"{field}.currency", "must be a three-letter ISO 4217 code")
    return {"amount": amount, "currency": currency}
