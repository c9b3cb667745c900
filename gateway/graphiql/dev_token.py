"""The explorer's development token: outside production, with an HS256 secret, every page load puts
a fresh token of the explorer user in the headers editor, so the authenticated examples run as they
are. The examples know this user: an order's id derives from its user and idempotency key."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..auth import make_dev_token
from ..config import Settings

EXPLORER_SUBJECT = "alice"
EXPLORER_EMAIL = "alice@example.com"
EXPLORER_TOKEN_TTL_SECONDS = 12 * 3600


def dev_headers_factory(settings: Settings) -> Callable[[], Mapping[str, str]] | None:
    """None in production, or where tokens are not HS256 with our secret (an identity provider's)."""
    secret = settings.jwt_secret
    if settings.production or not secret or settings.jwt_public_key or settings.jwt_jwks_url:
        return None

    def headers() -> Mapping[str, str]:
        token = make_dev_token(EXPLORER_SUBJECT, (), EXPLORER_TOKEN_TTL_SECONDS, secret, settings.jwt_issuer,
                               settings.jwt_audience, {"email": EXPLORER_EMAIL})
        return {"Authorization": f"Bearer {token}"}

    return headers
