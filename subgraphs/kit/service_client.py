"""Calling another service's GraphQL API directly (service-to-service, not through the gateway)."""

from __future__ import annotations

from typing import Any

import httpx

from authn.internal import InternalSigner
from subgraphs.kit.auth import SERVICE_SUBJECT_PREFIX, issue_token
from subgraphs.kit.errors import ServiceUnavailable


class UpstreamGraphQLError(Exception):
    """The other service answered with GraphQL errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("message")) for e in errors))
        self.errors = errors

    @property
    def codes(self) -> set[str]:
        return {str((e.get("extensions") or {}).get("code")) for e in self.errors}


class ServiceClient:
    """A small typed GraphQL client with a keep-alive pool and a service identity.

    `token` is sent as is (e.g. the end user's token when acting for them); without it the
    client authenticates as `service:<caller>` with the given scopes: through the signed internal
    header when `subgraph_secret` is set (production: services hold no signing key), else with an
    HS256 service token. The internal header goes with every request, as receivers require it.
    """

    def __init__(
        self,
        url: str,
        *,
        caller: str,
        scopes: tuple[str, ...],
        jwt_secret: str | None,
        subgraph_secret: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._caller = caller
        self._scopes = scopes
        self._secret = jwt_secret
        self._signer = InternalSigner(subgraph_secret, caller, scopes) if subgraph_secret else None
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    def service_token(self) -> str:
        if self._secret is None:
            raise ServiceUnavailable("no credential to call another service: set SUBGRAPH_SHARED_SECRET")
        return issue_token(SERVICE_SUBJECT_PREFIX + self._caller, self._scopes, self._secret, ttl_seconds=300)

    def headers(self, token: str | None = None) -> dict[str, str]:
        """The credentials of one request: the internal header, and a bearer token when needed."""
        headers = self._signer.headers() if self._signer is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif self._signer is None:
            headers["Authorization"] = f"Bearer {self.service_token()}"
        return headers

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = self.headers(token)
        try:
            response = await self._client.post(
                self.url, json={"query": query, "variables": variables or {}}, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"{self.url} is unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 500:
            raise ServiceUnavailable(f"{self.url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise ServiceUnavailable(f"{self.url} answered a body that is not JSON") from exc
        if body.get("errors"):
            raise UpstreamGraphQLError(body["errors"])
        data = body.get("data")
        if not isinstance(data, dict):
            raise ServiceUnavailable(f"{self.url} answered no data")
        return data

    async def aclose(self) -> None:
        await self._client.aclose()
