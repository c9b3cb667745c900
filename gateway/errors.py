"""The request-level error every stage raises (HTTP checks, parse, limits, validation, planning, variables)."""

from __future__ import annotations

from typing import Any


class RequestError(Exception):
    """A request-level failure: no execution happens, the response has `errors` and no `data`."""

    def __init__(self, errors: list[dict[str, Any]], status: int = 400) -> None:
        super().__init__(errors[0]["message"] if errors else "request error")
        self.errors = errors
        self.status = status


def error_dict(message: str, code: str, locations: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message}
    if locations:
        out["locations"] = locations
    out["extensions"] = {"code": code}
    return out
