"""W4's load: N graphql-transport-ws clients subscribed through a gateway to one order's status.

Every client subscribes, the window opens once each has received its first event, and for the
window's length every event is counted with its delivery latency (the client's wall clock minus the
``emittedAt`` the fixture stamped on the event; both run on this machine).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import websockets

SUBPROTOCOL = websockets.Subprotocol("graphql-transport-ws")


@dataclass
class FanOutResult:
    events_per_second: float
    p50_ms: float
    p99_ms: float
    events: int
    errors: int
    subscribers: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (0.0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class _Subscriber:
    def __init__(self, url: str, query: str) -> None:
        self.url, self.query = url, query
        self.first: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.latencies: list[float] | None = None  # a list while the window is open
        self.error: str | None = None

    async def run(self) -> None:
        try:
            async with websockets.connect(self.url, subprotocols=[SUBPROTOCOL], max_size=None) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                async for raw in ws:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "connection_ack":  # graphql-ws servers close with 4401 on an early subscribe
                        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": self.query}}))
                    elif kind == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif kind == "next":
                        self._event(message.get("payload"))
                    elif kind in ("error", "complete"):
                        raise RuntimeError(f"{kind}: {json.dumps(message)[:300]}")
        except Exception as exc:  # a failed subscriber is counted, the others go on
            self.error = f"{type(exc).__name__}: {exc}"
            if not self.first.done():
                self.first.set_exception(RuntimeError(self.error))

    def _event(self, payload: Any) -> None:
        if not self.first.done():
            self.first.set_result(payload)
        if self.latencies is not None:
            try:
                emitted = float(payload["data"]["orderStatus"]["emittedAt"])
            except (KeyError, TypeError, ValueError):
                self.error = f"event without emittedAt: {json.dumps(payload)[:300]}"
                return
            self.latencies.append(time.time() * 1000 - emitted)


async def _fan_out(url: str, query: str, subscribers: int, duration: float, ready_timeout: float,
                   window: Callable[[str], None] | None) -> FanOutResult:
    clients = [_Subscriber(url, query) for _ in range(subscribers)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    try:
        await asyncio.wait([c.first for c in clients], timeout=ready_timeout)
        live = [c for c in clients if c.first.done() and c.first.exception() is None]
        for client in live:
            client.latencies = []
        if window:
            window("start")
        started = time.monotonic()
        await asyncio.sleep(duration)
        elapsed = time.monotonic() - started
        if window:
            window("stop")
        latencies = [ms for c in live for ms in (c.latencies or [])]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        if client.first.done() and not client.first.cancelled():
            client.first.exception()  # retrieved: no "exception never retrieved" warning
    errors = sum(1 for c in clients if c.error is not None or c not in live)
    return FanOutResult(len(latencies) / elapsed, percentile(latencies, 0.50), percentile(latencies, 0.99),
                        len(latencies), errors, subscribers)


def fan_out(url: str, query: str, subscribers: int, duration: float, *, ready_timeout: float = 15.0,
            window: Callable[[str], None] | None = None) -> FanOutResult:
    """Run the fan-out; ``window("start")`` / ``window("stop")`` bracket the measured seconds."""
    return asyncio.run(_fan_out(url, query, subscribers, duration, ready_timeout, window))


async def _first_event(url: str, query: str, timeout: float) -> Any:
    client = _Subscriber(url, query)
    task = asyncio.create_task(client.run())
    try:
        return await asyncio.wait_for(asyncio.shield(client.first), timeout)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def first_event(url: str, query: str, timeout: float = 15.0) -> Any:
    """The payload of the first event one subscriber receives (raises on an error or a timeout)."""
    return asyncio.run(_first_event(url, query, timeout))
