"""JWT viewers: every service verifies the bearer token again (no service trusts the network)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt

from subgraphs.kit.errors import Forbidden, Unauthenticated
from subgraphs.kit.settings import DEV_JWT_SECRET

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
    now = int(time.time())
    payload = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + ttl_seconds, **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_token(token: str, secret: str) -> Viewer:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("invalid token: `sub` must be a non-empty string")
    scope = claims.get("scope", "")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    return Viewer(user_id=subject, scopes=scopes, token=token, claims=claims)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    """Resolves the viewer of a request lazily, remembering why a token was refused."""

    def __init__(self, authorization: str | None, secret: str) -> None:
        self._authorization = authorization
        self._secret = secret
        self._resolved = False
        self._viewer: Viewer | None = None
        self._error: Unauthenticated | None = None

    def _resolve(self) -> None:
        if self._resolved:
            return
        self._resolved = True
        if not self._authorization:
            return
        token = bearer_token(self._authorization)
        if token is None:
            self._error = Unauthenticated("the Authorization header must be `Bearer <token>`")
            return
        try:
            self._viewer = decode_token(token, self._secret)
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
