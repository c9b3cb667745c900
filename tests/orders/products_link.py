"""The network between orders and products, with faults a test can switch on per GraphQL operation.

`lose_answer(op)`: the request reaches products and is handled, but orders gets a read timeout instead
of the answer (products did the work: the case a retry must cope with). `hold(op)`: the request (or,
with `after_answer=True`, its answer) waits at a gate the test opens, to drive interleavings without
sleeping.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import orjson


@dataclass
class Gate:
    """Stops one call of an operation until `open()`; `reached` tells the test the call is there."""

    after_answer: bool = False
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    def open(self) -> None:
        self.opened.set()

    async def wait_reached(self, timeout: float = 10) -> None:
        await asyncio.wait_for(self.reached.wait(), timeout)

    async def pass_through(self) -> None:
        self.reached.set()
        await self.opened.wait()


class ProductsLink(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._lost: dict[str, int] = {}
        self._gates: dict[str, list[Gate]] = {}
        self.calls: list[str] = []

    def lose_answer(self, operation: str, times: int = 1) -> None:
        self._lost[operation] = self._lost.get(operation, 0) + times

    def hold(self, operation: str, *, after_answer: bool = False) -> Gate:
        gate = Gate(after_answer=after_answer)
        self._gates.setdefault(operation, []).append(gate)
        return gate

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        operation = _operation_name(request)
        self.calls.append(operation)
        gates = self._gates.get(operation)
        gate = gates.pop(0) if gates else None
        if gate is not None and not gate.after_answer:
            await gate.pass_through()
        response = await self._inner.handle_async_request(request)
        await response.aread()
        if gate is not None and gate.after_answer:
            await gate.pass_through()
        if self._lost.get(operation):
            self._lost[operation] -= 1
            raise httpx.ReadTimeout(f"the answer to {operation} was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _operation_name(request: httpx.Request) -> str:
    try:
        query = str(orjson.loads(request.content).get("query", ""))
    except orjson.JSONDecodeError:
        return ""
    words = query.replace("(", " ").replace("{", " ").split()
    return words[1] if len(words) > 1 and words[0] in {"query", "mutation"} else ""
