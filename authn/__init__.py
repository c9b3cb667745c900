"""Token verification shared by the gateway and the services (imports neither).

- :mod:`authn.tokens`: JWT verification (HS256 for development, RS256/ES256/EdDSA with a PEM key or
  a JWKS URL), issuer and audience checked.
- :mod:`authn.jwks`: the JWKS key cache, refreshed on an unknown `kid` at most once per interval.
- :mod:`authn.internal`: the signed header that marks a request as coming from inside the graph
  (the gateway or another service).
- :mod:`authn.appenv`: the `APP_ENV` setting and the production refusal of development defaults.
"""

from authn.appenv import DEV_JWT_SECRET, InsecureConfiguration, read_app_env
from authn.internal import INTERNAL_HEADER, InternalCaller, InternalSigner, verify_internal
from authn.jwks import JwksCache
from authn.tokens import Claims, TokenError, TokenVerifier, VerifierConfig

__all__ = [
    "DEV_JWT_SECRET",
    "INTERNAL_HEADER",
    "Claims",
    "InsecureConfiguration",
    "InternalCaller",
    "InternalSigner",
    "JwksCache",
    "TokenError",
    "TokenVerifier",
    "VerifierConfig",
    "read_app_env",
    "verify_internal",
]
