"""Development JWTs (HS256) for trying the gateway and subgraphs locally."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import jwt


def make_dev_token(subject: str, scopes: Sequence[str], ttl_seconds: int, secret: str) -> str:
    """A signed token with claims sub, scope (space-separated), iat and exp."""
    now = int(time.time())
    claims = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + int(ttl_seconds)}
    with warnings.catch_warnings():
        # the default dev secret is short on purpose; PyJWT warns about that
        warnings.simplefilter("ignore")
        return jwt.encode(claims, secret, algorithm="HS256")


def decode_dev_token(token: str, secret: str) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.decode(token, secret, algorithms=["HS256"])
