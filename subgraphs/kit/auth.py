"""JWT viewers: every service verifies the bearer token again (no service trusts the network).

Verification is `authn.TokenVerifier` (HS256 in development; RS256/ES256/EdDSA keys from a PEM or a
JWKS URL, issuer and audience checked when configured). A call from another service may carry no
token at all: its signed internal header (authn.internal, checked by the app's middleware) makes it
the viewer `service:<sender>` with the scopes it signed for.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jwt

from authn.appenv import DEV_JWT_SECRET
from authn.internal import InternalCaller
from authn.tokens import TokenError, TokenVerifier, VerifierConfig
from subgraphs.kit.errors import Forbidden, Unauthenticated

ALGORITHM = "HS256"
SERVICE_SUBJECT_PREFIX = "service:"


@dataclass(frozen=True)
class Viewer:
    """Who is calling: `sub` of the token and its scopes."""

    user_id: str
    scopes: frozenset[str]
    token: str
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def email(self) -> str | None:
        value = self.claims.get("email")
        return value if isinstance(value, str) else None

    @property
    def is_service(self) -> bool:
        return self.user_id.startswith(SERVICE_SUBJECT_PREFIX)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def issue_token(
    subject: str,
    scopes: Iterable[str] = (),
    secret: str = DEV_JWT_SECRET,
    ttl_seconds: int = 3600,
    **claims: Any,
) -> str:
    """An HS256 token (development and tests); `iss`/`aud` go in through `claims`."""
    now = int(time.time())
    payload = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + ttl_seconds, **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


@lru_cache(maxsize=16)
def verifier_for(config: VerifierConfig) -> TokenVerifier:
    """One verifier (and so one JWKS cache) per configuration and process."""
    return TokenVerifier(config)


def _verifier(key: str | TokenVerifier) -> TokenVerifier:
    return verifier_for(VerifierConfig(secret=key)) if isinstance(key, str) else key


def decode_token(token: str, key: str | TokenVerifier) -> Viewer:
    """The viewer of a token; `key` is an HS256 secret or a configured verifier."""
    try:
        verified = _verifier(key).verify(token)
    except TokenError as exc:
        raise Unauthenticated(str(exc)) from None
    return Viewer(user_id=verified.subject, scopes=verified.scopes, token=token, claims=verified.claims)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def prepare_authorization(authorization: str | None, config: VerifierConfig) -> None:
    """Fetch the JWKS key a bearer token names if it is not cached, so resolvers verify synchronously."""
    token = bearer_token(authorization)
    if token is not None:
        await verifier_for(config).prepare(token)


class Authenticator:
    """Resolves the viewer of a request lazily, remembering why a token was refused."""

    def __init__(
        self, authorization: str | None, key: str | TokenVerifier, internal: InternalCaller | None = None
    ) -> None:
        self._authorization = authorization
        self._verifier = _verifier(key)
        self._internal = internal
        self._resolved = False
        self._viewer: Viewer | None = None
        self._error: Unauthenticated | None = None

    def _resolve(self) -> None:
        if self._resolved:
            return
        self._resolved = True
        if not self._authorization:
            if self._internal is not None and not self._internal.is_gateway:
                self._viewer = Viewer(
                    user_id=SERVICE_SUBJECT_PREFIX + self._internal.sender, scopes=self._internal.scopes, token=""
                )
            return
        token = bearer_token(self._authorization)
        if token is None:
            self._error = Unauthenticated("the Authorization header must be `Bearer <token>`")
            return
        try:
            self._viewer = decode_token(token, self._verifier)
        except Unauthenticated as exc:
            self._error = exc

    @property
    def viewer(self) -> Viewer | None:
        """The verified viewer, or None for anonymous requests and refused tokens."""
        self._resolve()
        return self._viewer

    def require_viewer(self) -> Viewer:
        self._resolve()
        if self._viewer is not None:
            return self._viewer
        raise self._error or Unauthenticated("sign in required: send `Authorization: Bearer <token>`")

    def require_scope(self, scope: str) -> Viewer:
        viewer = self.require_viewer()
        if not viewer.has_scope(scope):
            raise Forbidden(f"the `{scope}` scope is required", requiredScope=scope)
        return viewer
