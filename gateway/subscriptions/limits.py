"""A counter of open client connections (WebSocket and SSE) with a ceiling."""

from __future__ import annotations


class ConnectionLimiter:
    """Not a lock: the event loop is single-threaded, so check-and-increment is atomic here."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0

    def try_acquire(self) -> bool:
        if self.active >= self.limit:
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active = max(0, self.active - 1)

    def refusal(self) -> str:
        return f"Too many connections: the gateway accepts at most {self.limit} real-time connections"
