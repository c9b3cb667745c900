"""The gateway's rate limiter: after parsing (root fields known), before any subgraph fetch.

Every operation takes one unit from the client's general budget and one from each rule whose root
fields it selects; all of them are checked in one atomic step (one Redis round trip). A refusal is
a :class:`RateLimited` request error: HTTP 429 with Retry-After, or the transport's error message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..planning.operation import CField, CFrag, CSel
from ..planning.prepare import PreparedOperation, RequestError, error_dict
from .backends import Bucket, LocalBuckets, RedisBuckets, retry_after_header
from .clients import ClientIdentifier
from .rules import RateRule

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger("gateway.ratelimit")

# After a Redis failure the in-process buckets answer; the warning repeats at most this often.
_WARN_EVERY_SECONDS = 60.0


class RateLimited(RequestError):
    """429 RATE_LIMITED, naming the limit and the seconds to wait (also in `headers`)."""

    def __init__(self, limit: str, retry_after: int) -> None:
        error = error_dict(f"Rate limit '{limit}' exceeded: retry in {retry_after} s.", "RATE_LIMITED")
        error["extensions"].update({"limit": limit, "retryAfter": retry_after})
        super().__init__([error], 429)
        self.headers = {"retry-after": str(retry_after)}


def root_fields(selections: Iterable[CSel]) -> set[str]:
    """Root field names of an operation, through inline fragments and spreads."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, CField):
            names.add(selection.name)
        elif isinstance(selection, CFrag):
            names |= root_fields(selection.selections)
    return names


class RateLimiter:
    def __init__(
        self,
        general: RateRule,
        rules: Iterable[RateRule],
        identifier: ClientIdentifier,
        redis_url: str | None = None,
        key_prefix: str = "gw:rl:",
    ) -> None:
        self.general = general
        self.rules = tuple(rules)
        self.by_field: dict[str, list[RateRule]] = {}
        for rule in self.rules:
            for name in rule.fields:
                self.by_field.setdefault(name, []).append(rule)
        self.identifier = identifier
        self.prefix = key_prefix
        self.local = LocalBuckets()
        self.redis: RedisBuckets | None = None
        self._last_warning = -_WARN_EVERY_SECONDS
        if redis_url:
            self.redis = RedisBuckets(redis_url, timeout=1.0)
        else:
            log.warning("rate limiting without Redis: budgets are per gateway process (set GATEWAY_REDIS_URL)")

    def rules_for(self, prepared: PreparedOperation) -> list[RateRule]:
        """The general rule and the rules of the operation's root fields (each rule once)."""
        matched = [self.general]
        if self.by_field:
            for name in sorted(root_fields(prepared.selections)):
                for rule in self.by_field.get(name, ()):
                    if rule not in matched:
                        matched.append(rule)
        return matched

    async def check(
        self, prepared: PreparedOperation, subject: str | None, headers: Mapping[str, str], peer: str | None
    ) -> None:
        """Take one unit of every matching budget for the verified `subject` (else the client's IP),
        or raise :class:`RateLimited` (taking none)."""
        client = self.identifier.key(subject, headers, peer)
        rules = self.rules_for(prepared)
        buckets = [Bucket(f"{self.prefix}{rule.name}:{client}", rule.interval, rule.period) for rule in rules]
        verdict = await self._take(buckets)
        if verdict.refused is not None:
            raise RateLimited(rules[verdict.refused].name, retry_after_header(verdict.retry_after))

    async def check_refused_token(self, headers: Mapping[str, str], peer: str | None) -> None:
        """A request whose token was refused costs its IP one unit of the general budget, so a flood of
        bad tokens is throttled like any other traffic; raises :class:`RateLimited` when it is spent."""
        client = self.identifier.key(None, headers, peer)
        bucket = Bucket(f"{self.prefix}{self.general.name}:{client}", self.general.interval, self.general.period)
        verdict = await self._take([bucket])
        if verdict.refused is not None:
            raise RateLimited(self.general.name, retry_after_header(verdict.retry_after))

    async def _take(self, buckets: list[Bucket]) -> Any:
        if self.redis is not None:
            try:
                return await self.redis.take(buckets)
            except Exception as exc:  # Redis down: keep limiting, per process, rather than fail requests
                now = time.monotonic()
                if now - self._last_warning >= _WARN_EVERY_SECONDS:
                    self._last_warning = now
                    log.warning("rate limiting falls back to in-process budgets: Redis failed (%s)", exc)
        return await self.local.take(buckets)

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def limiter_for(settings: Settings) -> RateLimiter | None:
    """The limiter `settings` ask for; None when rate limiting is off (then it costs nothing)."""
    if not settings.rate_limit_enabled:
        return None
    identifier = ClientIdentifier(settings.trusted_proxies, settings.forwarded_header)
    return RateLimiter(
        settings.rate_limit_general,
        settings.rate_limit_rules,
        identifier,
        settings.redis_url,
        settings.rate_limit_key_prefix,
    )
