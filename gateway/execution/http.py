"""Subgraph HTTP transport: one aiohttp session with keep-alive pools, orjson in and out.

aiohttp was chosen over httpx for throughput (see the final report for measurements): the
transport sits on every request's hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from ..config import Settings


class SubgraphFetchError(Exception):
    """The subgraph gave no usable GraphQL response (down, slow, HTTP error or garbage)."""

    def __init__(self, service: str, code: str, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.service = service
        self.code = code
        self.reason = reason
        self.status = status

    def to_graphql_error(self) -> dict[str, Any]:
        extensions: dict[str, Any] = {"code": self.code, "service": self.service}
        if self.status is not None:
            extensions["http"] = {"status": self.status}
        return {"message": f"HTTP fetch failed from '{self.service}': {self.reason}", "extensions": extensions}


class SubgraphClient:
    """Posts GraphQL requests to subgraphs by name."""

    def __init__(self, urls: Mapping[str, str], settings: Settings) -> None:
        self.urls = dict(urls)
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._timeouts = {name: aiohttp.ClientTimeout(total=settings.timeout_for(name)) for name in self.urls}

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0,
                limit_per_host=self.settings.max_connections_per_subgraph,
                keepalive_timeout=30,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                skip_auto_headers=("User-Agent",),
                auto_decompress=True,
            )

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def post(self, service: str, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        if self._session is None:
            await self.start()
        assert self._session is not None
        url = self.urls.get(service)
        if not url:
            raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", "no URL configured for the subgraph")
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=self._timeouts.get(service)
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError as exc:
            raise SubgraphFetchError(
                service,
                "SUBREQUEST_TIMEOUT",
                f"request timed out after {self.settings.timeout_for(service):g}s",
            ) from exc
        except aiohttp.ClientError as exc:
            raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", _describe(exc)) from exc
        except OSError as exc:
            raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", str(exc) or type(exc).__name__) from exc
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and ("data" in payload or "errors" in payload):
            if status >= 400 and payload.get("data") is None and not payload.get("errors"):
                raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", f"{status}", status)
            return payload
        if status >= 400:
            raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", f"{status}: {_reason(status)}", status)
        raise SubgraphFetchError(
            service, "SUBREQUEST_HTTP_ERROR", "the subgraph response is not a GraphQL JSON response", status
        )


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _reason(status: int) -> str:
    try:
        from http import HTTPStatus

        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"
