"""What the transports need from the gateway: run one request, get one result or a stream of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from .request import ClientContext, GraphQLRequest

ExecutionResult = dict[str, Any]


class OperationError(Exception):
    """GraphQL-formatted errors that end an operation: before execution (syntax, validation, limits)
    or while a subscription runs (its upstream failed or went away)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("message")) for e in errors))
        self.errors = errors

    @classmethod
    def single(cls, message: str, code: str = "BAD_REQUEST") -> OperationError:
        return cls([{"message": message, "extensions": {"code": code}}])


class EventStream(Protocol):
    """A running subscription: iterate for results; `aclose()` ends it and frees what it holds."""

    def __aiter__(self) -> AsyncIterator[ExecutionResult]: ...

    async def aclose(self) -> None: ...


class OperationExecutor(Protocol):
    """Queries and mutations give one result; subscriptions give an :class:`EventStream`.

    Raises :class:`OperationError` when the request cannot start.
    """

    async def run(self, request: GraphQLRequest, context: ClientContext) -> ExecutionResult | EventStream: ...


class SingleResult:
    """Adapts a plain result to the stream interface so transports treat both alike."""

    def __init__(self, result: ExecutionResult) -> None:
        self._result: ExecutionResult | None = result

    def __aiter__(self) -> AsyncIterator[ExecutionResult]:
        return self

    async def __anext__(self) -> ExecutionResult:
        if self._result is None:
            raise StopAsyncIteration
        result, self._result = self._result, None
        return result

    async def aclose(self) -> None:
        self._result = None


def as_stream(outcome: ExecutionResult | EventStream) -> EventStream:
    return SingleResult(outcome) if isinstance(outcome, dict) else outcome
