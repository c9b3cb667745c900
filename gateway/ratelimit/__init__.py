"""Per-client rate limits of the gateway, shared across instances through Redis (docs/edge.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .clients import ClientIdentifier, client_subject
from .limiter import RateLimited, RateLimiter
from .rules import RateRule

if TYPE_CHECKING:  # config imports .rules: no runtime import back
    from ..config import Settings

__all__ = ["ClientIdentifier", "RateLimited", "RateLimiter", "RateRule", "client_subject", "limiter_for"]


def limiter_for(settings: Settings) -> RateLimiter | None:
    """The limiter `settings` ask for; None when rate limiting is off (then it costs nothing)."""
    if not settings.rate_limit_enabled:
        return None
    identifier = ClientIdentifier(settings.jwt_secret, settings.trusted_proxies, settings.forwarded_header)
    return RateLimiter(
        settings.rate_limit_general,
        settings.rate_limit_rules,
        identifier,
        settings.redis_url,
        settings.rate_limit_key_prefix,
    )
