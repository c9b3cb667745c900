"""A JWKS key cache: keys by `kid`, fetched on first use and again when a token names an unknown
`kid` (key rotation), but at most once per `min_refresh_seconds` so random kids cannot hammer the
JWKS endpoint."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

log = logging.getLogger("authn.jwks")


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        min_refresh_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.min_refresh_seconds = min_refresh_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._last_fetch: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many times the endpoint was asked (tests and metrics read it)

    def get(self, kid: str | None) -> jwt.PyJWK | None:
        """The key for `kid`; a token without `kid` is matched only when the set has one key."""
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _may_refresh(self) -> bool:
        return self._last_fetch is None or self._clock() - self._last_fetch >= self.min_refresh_seconds

    async def ensure(self, kid: str | None) -> None:
        """Make `kid` known if the endpoint has it, refreshing within the rate limit."""
        if self.get(kid) is not None or not self._may_refresh():
            return
        async with self._lock:
            if self.get(kid) is not None or not self._may_refresh():
                return
            self._last_fetch = self._clock()
            self.fetches += 1
            try:
                self._keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as exc:  # keep the old keys; the next interval retries
                log.warning("JWKS fetch from %s failed: %s", self.url, exc)

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            response = await client.get(self.url)
        response.raise_for_status()
        document: Any = response.json()
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("the JWKS document has no `keys` list")
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document["keys"]:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK.from_dict(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
                log.warning("skipping a JWKS key (kid %s): %s", entry.get("kid"), exc)
                continue
            keys[str(entry.get("kid", ""))] = key
        return keys
