"""A fault-injecting HTTP proxy between orders and products (orders' PRODUCTS_URL points at it).

It forwards each request and, as the seeded plan says, loses the answer after products processed the
request, holds the request until orders' client has given up before forwarding it (products then acts
on a request nobody waits for), or slows the answer down. Decisions are a pure function of (seed,
operation, order id, how many times that operation was seen for that order), so the same requests get
the same faults whatever the interleaving.

Plain HTTP/1.1 with Content-Length bodies (what httpx sends), keep-alive, on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

log = logging.getLogger(__name__)

# The operations orders sends products (subgraphs/orders/products_client.py) that move stock.
FAULTED_OPERATIONS = frozenset({"OrdersReserveStock", "OrdersReleaseStock", "OrdersCommitStock"})


@dataclass(frozen=True)
class ProxyFaults:
    lose_answer: float = 0.0  # products did the work, the answer never reaches orders
    late_request: float = 0.0  # forwarded only after orders' timeout: products works for no one
    slow: float = 0.0  # answered late, but within orders' timeout
    slow_seconds: float = 1.0
    late_seconds: float = 11.0  # must exceed orders' client timeout

    def as_dict(self) -> dict[str, float]:
        return {"lose_answer": self.lose_answer, "late_request": self.late_request, "slow": self.slow,
                "slow_seconds": self.slow_seconds, "late_seconds": self.late_seconds}


def decide(seed: int, faults: ProxyFaults, operation: str, order_id: str, occurrence: int) -> str | None:
    """The fault for one request, or None: "lose_answer", "late_request" or "slow"."""
    if operation not in FAULTED_OPERATIONS:
        return None
    roll = random.Random(f"{seed}\x1f{operation}\x1f{order_id}\x1f{occurrence}").random()
    for kind in ("lose_answer", "late_request", "slow"):
        probability = float(getattr(faults, kind))
        if roll < probability:
            return kind
        roll -= probability
    return None


class FaultProxy:
    def __init__(self, target_base: str, seed: int, faults: ProxyFaults, port: int) -> None:
        self.target_base = target_base.rstrip("/")
        self.seed = seed
        self.faults = faults
        self.port = port
        self.injected: Counter[str] = Counter()
        self.active = True  # turned off when the faults stop
        self._seen: Counter[tuple[str, str]] = Counter()
        self._server: asyncio.Server | None = None
        self._client = httpx.AsyncClient(timeout=60)
        self._connections: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        await self._client.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                if not await self._handle(request, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Forward one request; False when the connection must be closed (an answer was lost)."""
        fault = self._fault_for(request.body) if self.active else None
        if fault is not None:
            self.injected[fault] += 1
        if fault == "late_request":
            await asyncio.sleep(self.faults.late_seconds)
        try:
            response = await self._client.request(
                request.method, f"{self.target_base}{request.path}", content=request.body,
                headers={k: v for k, v in request.headers.items() if k not in {"host", "content-length", "connection"}},
            )
        except httpx.HTTPError:
            return False  # products is down: orders sees a dropped connection, as without the proxy
        if fault in ("lose_answer", "late_request"):
            return False
        if fault == "slow":
            await asyncio.sleep(self.faults.slow_seconds)
        head = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
        for name, value in response.headers.items():
            if name.lower() not in {"content-length", "transfer-encoding", "connection", "content-encoding"}:
                head.append(f"{name}: {value}")
        head.append(f"content-length: {len(response.content)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.content)
        await writer.drain()
        return True

    def _fault_for(self, body: bytes) -> str | None:
        try:
            payload = orjson.loads(body)
            operation = _operation_name(str(payload.get("query", "")))
            order_id = str((payload.get("variables") or {}).get("orderId", ""))
        except (orjson.JSONDecodeError, AttributeError):
            return None
        occurrence = self._seen[(operation, order_id)]
        self._seen[(operation, order_id)] += 1
        return decide(self.seed, self.faults, operation, order_id, occurrence)


def _operation_name(query: str) -> str:
    words = query.replace("(", " ").replace("{", " ").split()
    return words[1] if len(words) > 1 and words[0] in {"mutation", "query"} else ""


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return _Request(method, path, headers, body)
