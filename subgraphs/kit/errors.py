"""Error conventions: GraphQL errors with `extensions.code`, and masking of unexpected failures.

Domain outcomes (out of stock, payment declined) are typed payloads in each schema, not errors.
These are for requests that cannot be served as asked.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class AppError(Exception):
    """An error a client caused or may see; graphql-core copies `extensions` into the response."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": self.code, **details}


class BadUserInput(AppError):
    code = "BAD_USER_INPUT"


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"


class Forbidden(AppError):
    code = "FORBIDDEN"


class NotFound(AppError):
    code = "NOT_FOUND"


class ServiceUnavailable(AppError):
    code = "SERVICE_UNAVAILABLE"


def should_mask_error(error: GraphQLError) -> bool:
    """Hide unexpected exceptions behind a generic message (the schema logged them with a traceback)."""
    original = error.original_error
    return original is not None and not isinstance(original, AppError | GraphQLError)
