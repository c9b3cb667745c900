"""Whether a background loop (queue worker, event consumer, outbox relay) is doing its job.

The loop reports what it does (`beat` after each round, `failed` when a round blew up, ...); `/ready`
asks `check()`. A loop is healthy when it is running and beat within `stale_after_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

DEFAULT_STALE_AFTER_SECONDS = 20.0


class LoopState(StrEnum):
    IDLE = "idle"  # not started yet
    STARTING = "starting"  # (re)connecting; not polling yet
    RUNNING = "running"
    RESTARTING = "restarting"  # a round failed; waiting out the backoff
    STOPPING = "stopping"
    STOPPED = "stopped"


class LoopHealth:
    def __init__(
        self,
        name: str,
        *,
        stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.stale_after_seconds = stale_after_seconds
        self._clock = clock
        self.state = LoopState.IDLE
        self.last_beat: float | None = None
        self.last_error: str | None = None
        self.failures = 0

    def starting(self) -> None:
        self.state = LoopState.STARTING

    def beat(self) -> None:
        """One round done (a poll, a handled entry): the loop is alive. A loop told to stop may finish
        a round on its way out; it stays STOPPING (or STOPPED) all the same."""
        if not self._ending:
            self.state = LoopState.RUNNING
        self.last_beat = self._clock()

    def failed(self, exc: BaseException) -> None:
        if not self._ending:
            self.state = LoopState.RESTARTING
        self.failures += 1
        self.last_error = f"{exc.__class__.__name__}: {exc}"

    def stopping(self) -> None:
        self.state = LoopState.STOPPING

    def stopped(self) -> None:
        self.state = LoopState.STOPPED

    @property
    def _ending(self) -> bool:
        return self.state in (LoopState.STOPPING, LoopState.STOPPED)

    def check(self) -> tuple[bool, str]:
        """(healthy, why not) for `/ready`."""
        if self.state is LoopState.RUNNING:
            assert self.last_beat is not None
            age = self._clock() - self.last_beat
            if age <= self.stale_after_seconds:
                return True, ""
            return False, f"not polling: last round {age:.1f}s ago"
        if self.state is LoopState.RESTARTING:
            return False, f"restarting after {self.last_error}"
        return False, self.state.value
