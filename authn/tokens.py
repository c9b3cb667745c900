"""JWT verification: HS256 with a shared secret (development), RS256/ES256/EdDSA with a PEM public
key or a JWKS URL. Issuer and audience are checked whenever they are configured (production
requires both). Verification itself is synchronous; :meth:`TokenVerifier.prepare` fetches an unknown
JWKS key beforehand, so resolvers never wait on the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt

from authn.jwks import JwksCache

SYMMETRIC = frozenset({"HS256"})
ASYMMETRIC = frozenset({"RS256", "ES256", "EdDSA"})


class TokenError(Exception):
    """The token is refused; the message says why (safe to show to the caller)."""


@dataclass(frozen=True, slots=True)
class Claims:
    """A verified token: its subject, scopes (the space-separated `scope` claim) and all claims."""

    subject: str
    scopes: frozenset[str]
    claims: dict[str, Any] = field(compare=False)
    token: str = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class VerifierConfig:
    secret: str | None = None
    public_key: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = 0.0
    jwks_min_refresh_seconds: float = 30.0


class TokenVerifier:
    def __init__(self, config: VerifierConfig) -> None:
        self.config = config
        self.jwks = (
            JwksCache(config.jwks_url, min_refresh_seconds=config.jwks_min_refresh_seconds)
            if config.jwks_url
            else None
        )
        self._public_key: Any = None
        self._public_alg: str | None = None
        if config.public_key:
            self._public_key, self._public_alg = _load_public_key(config.public_key)

    async def prepare(self, token: str) -> None:
        """Fetch the JWKS key the token names when it is not cached yet (rate-limited)."""
        if self.jwks is None:
            return
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return  # verify() reports it
        kid = header.get("kid")
        await self.jwks.ensure(kid if isinstance(kid, str) else None)

    def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token: {exc}") from None
        alg = header.get("alg")
        key = self._key_for(alg, header.get("kid"))
        required = ["sub", "exp"]
        if self.config.issuer:
            required.append("iss")
        if self.config.audience:
            required.append("aud")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(alg)],
                issuer=self.config.issuer,
                audience=self.config.audience,
                leeway=self.config.leeway_seconds,
                options={"require": required, "verify_aud": self.config.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.InvalidIssuerError:
            raise TokenError("invalid token: the issuer is not accepted") from None
        except jwt.InvalidAudienceError:
            raise TokenError("invalid token: the audience is not accepted") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"invalid token: {exc}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise TokenError("invalid token: `sub` must be a non-empty string")
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        return Claims(subject=subject, scopes=scopes, claims=claims, token=token)

    def _key_for(self, alg: object, kid: object) -> Any:
        if alg in SYMMETRIC:
            if not self.config.secret:
                raise TokenError(f"invalid token: the {alg} algorithm is not accepted")
            return self.config.secret
        if alg not in ASYMMETRIC:
            raise TokenError(f"invalid token: the {alg} algorithm is not accepted")
        if self.jwks is not None:
            jwk = self.jwks.get(kid if isinstance(kid, str) else None)
            if jwk is not None:
                if jwk.algorithm_name != alg:
                    raise TokenError("invalid token: the algorithm does not match the key")
                return jwk.key
        if self._public_key is not None:
            if self._public_alg is not None and self._public_alg != alg:
                raise TokenError("invalid token: the algorithm does not match the key")
            return self._public_key
        raise TokenError("invalid token: the signing key is unknown")


def _load_public_key(pem: str) -> tuple[Any, str | None]:
    """A PEM public key and the one algorithm that fits it (RSA -> RS256, P-256 -> ES256, Ed25519)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.replace("\\n", "\n").encode())
    except ValueError as exc:
        raise ValueError(f"JWT_PUBLIC_KEY is not a PEM public key: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key, "ES256"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key, "EdDSA"
    raise ValueError("JWT_PUBLIC_KEY must be an RSA, EC P-256 or Ed25519 public key")

