"""Who is asking: the gateway verifies the bearer token once per request, before planning.

:meth:`RequestIdentity.verify_request_token` is the one function the request path (and other code,
e.g. a rate limiter wanting `claims.subject`) calls: it returns the verified :class:`authn.Claims`,
None for a request without a token (anonymous: the catalog is public), and raises
:class:`Unauthenticated` (HTTP 401, code UNAUTHENTICATED) for a bad one, before any fan-out. The
token is forwarded to the subgraphs, which verify it again. Verified tokens are remembered (bounded,
until they expire) so a client's repeated token costs no crypto.

Also the development JWTs (HS256) of `python -m gateway token`.
"""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import jwt

from authn.tokens import Claims, TokenError, TokenVerifier, VerifierConfig

from .planning.prepare import RequestError, error_dict

MAX_REMEMBERED_TOKENS = 4096


class Unauthenticated(RequestError):
    """A refused token: 401 over HTTP, an UNAUTHENTICATED error on the real-time transports."""

    def __init__(self, message: str) -> None:
        super().__init__([error_dict(message, "UNAUTHENTICATED")], status=401)


class RequestIdentity:
    def __init__(self, config: VerifierConfig, remember: int = MAX_REMEMBERED_TOKENS) -> None:
        self.verifier = TokenVerifier(config)
        self._remember = remember
        self._verified: OrderedDict[str, Claims] = OrderedDict()

    async def verify_request_token(self, headers: Mapping[str, str]) -> Claims | None:
        """The verified claims of a request's `authorization` header (lower-case names)."""
        authorization = headers.get("authorization")
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the Authorization header must be `Bearer <token>`")
        claims = self._verified.get(token)
        if claims is not None:
            exp = claims.claims.get("exp")
            if isinstance(exp, int | float) and exp > time.time():
                return claims
            del self._verified[token]
        await self.verifier.prepare(token)
        try:
            claims = self.verifier.verify(token)
        except TokenError as exc:
            raise Unauthenticated(str(exc)) from None
        self._verified[token] = claims
        if len(self._verified) > self._remember:
            self._verified.popitem(last=False)
        return claims


def make_dev_token(
    subject: str,
    scopes: Sequence[str],
    ttl_seconds: int,
    secret: str,
    issuer: str | None = None,
    audience: str | None = None,
    extra_claims: Mapping[str, object] | None = None,
) -> str:
    """A signed token with claims sub, scope (space-separated), iat and exp (iss, aud when given),
    and any `extra_claims` (e.g. email)."""
    now = int(time.time())
    claims: dict[str, object] = {**(extra_claims or {}), "sub": subject, "scope": " ".join(scopes), "iat": now,
                                 "exp": now + int(ttl_seconds)}
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    with warnings.catch_warnings():
        # the default dev secret is short on purpose; PyJWT warns about that
        warnings.simplefilter("ignore")
        return jwt.encode(claims, secret, algorithm="HS256")


def decode_dev_token(token: str, secret: str) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.decode(token, secret, algorithms=["HS256"], options={"verify_aud": False})
