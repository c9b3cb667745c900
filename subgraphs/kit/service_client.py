"""Calling another service's GraphQL API directly (service-to-service, not through the gateway)."""

from __future__ import annotations

from typing import Any

import httpx

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
    client authenticates as `service:<caller>` with the given scopes.
    """

    def __init__(
        self,
        url: str,
        *,
        caller: str,
        scopes: tuple[str, ...],
        jwt_secret: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._caller = caller
        self._scopes = scopes
        self._secret = jwt_secret
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    def service_token(self) -> str:
        return issue_token(SERVICE_SUBJECT_PREFIX + self._caller, self._scopes, self._secret, ttl_seconds=300)

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token or self.service_token()}"}
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
