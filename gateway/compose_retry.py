"""Composing a supergraph config at start-up, again and again until its subgraphs answer.

In a container platform the gateway may start before its subgraphs: a subgraph that cannot be
reached (or does not serve its SDL yet) is retried with capped exponential backoff, one log line per
attempt naming it, until a deadline. A composition error between schemas that were all fetched is
not retried: waiting does not fix it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from .composition import CompositionError, SubgraphUnavailable, compose_config

log = logging.getLogger("gateway.startup")


class CompositionGaveUp(Exception):
    """The deadline passed with a subgraph still unavailable, or composition failed for good."""


@dataclass(frozen=True, slots=True)
class ComposeRetry:
    """Backoff between attempts (seconds): initial, doubled each time, at most `max_delay`; attempts stop
    `deadline` seconds after the first (0: one attempt only)."""

    initial_delay: float = 0.5
    max_delay: float = 5.0
    deadline: float = 300.0

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (1-based)."""
        return min(self.max_delay, self.initial_delay * (2 ** (attempt - 1)))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, deadline: float | None = None) -> ComposeRetry:
        env = os.environ if env is None else env
        d = cls()
        if deadline is None:
            deadline = _seconds(env, "GATEWAY_COMPOSE_DEADLINE_SECONDS", d.deadline)
        return cls(
            initial_delay=_seconds(env, "GATEWAY_COMPOSE_RETRY_INITIAL_SECONDS", d.initial_delay),
            max_delay=_seconds(env, "GATEWAY_COMPOSE_RETRY_MAX_SECONDS", d.max_delay),
            deadline=deadline,
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw!r}")
    return value


@dataclass(slots=True)
class ComposeProgress:
    """What /ready reports while the gateway waits."""

    attempts: int = 0
    waiting_for: tuple[str, ...] = ()


async def compose_until_ready(
    config_path: str,
    retry: ComposeRetry,
    progress: ComposeProgress | None = None,
    *,
    compose: Callable[[str], str] = compose_config,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """The supergraph SDL, once every subgraph answered; raises :class:`CompositionGaveUp`."""
    progress = progress or ComposeProgress()
    started = time.monotonic()
    while True:
        progress.attempts += 1
        try:
            sdl = await asyncio.to_thread(compose, config_path)  # blocking HTTP fetches
        except SubgraphUnavailable as exc:
            progress.waiting_for = tuple(exc.subgraphs)
            remaining = retry.deadline - (time.monotonic() - started)
            names = ", ".join(exc.subgraphs)
            if remaining <= 0:
                log.error("composition attempt %d: subgraph %s still unavailable after %.0fs; giving up\n%s",
                          progress.attempts, names, retry.deadline, exc)
                raise CompositionGaveUp(str(exc)) from exc
            pause = min(retry.delay(progress.attempts), remaining)
            log.warning("composition attempt %d: subgraph %s not ready (%s); retrying in %.1fs",
                        progress.attempts, names, _reasons(exc), pause)
            await sleep(pause)
        except CompositionError as exc:
            log.error("composition attempt %d failed; not retrying\n%s", progress.attempts, exc)
            raise CompositionGaveUp(str(exc)) from exc
        else:
            progress.waiting_for = ()
            if progress.attempts > 1:
                log.warning("composition attempt %d: composed after %.1fs", progress.attempts,
                            time.monotonic() - started)
            return sdl


def _reasons(exc: SubgraphUnavailable) -> str:
    return "; ".join(issue.message for issue in exc.issues)
