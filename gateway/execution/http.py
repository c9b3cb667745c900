"""Subgraph HTTP transport: one aiohttp session with keep-alive pools, orjson in and out.

aiohttp was chosen over httpx for throughput (see the final report for measurements): the
transport sits on every request's hot path. Every request carries the gateway's signed internal
header (authn.internal, recomputed once a second) when `SUBGRAPH_SHARED_SECRET` is set. In
production a failed fetch tells the client only the code and the subgraph: the transport detail
(addresses, ports, OS errors) is logged with the request id instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from authn.internal import GATEWAY_SENDER, INTERNAL_HEADER, InternalSigner
from telemetry import tracing as telemetry_tracing

from .. import metrics, tracing
from ..config import Settings

log = logging.getLogger("gateway.execution.http")


class SubgraphFetchError(Exception):
    """The subgraph gave no usable GraphQL response (down, slow, HTTP error or garbage)."""

    def __init__(self, service: str, code: str, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.service = service
        self.code = code
        self.reason = reason
        self.status = status
        self.redacted = False
        self.request_id: str | None = None

    def redact(self, request_id: str | None) -> SubgraphFetchError:
        """Hide the transport detail from the client (it is logged under `request_id`)."""
        self.redacted = True
        self.request_id = request_id
        return self

    def to_graphql_error(self) -> dict[str, Any]:
        extensions: dict[str, Any] = {"code": self.code, "service": self.service}
        if self.redacted:
            if self.request_id:
                extensions["requestId"] = self.request_id
            return {"message": f"HTTP fetch failed from '{self.service}'", "extensions": extensions}
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
        secret = settings.subgraph_shared_secret
        self._signer = InternalSigner(secret, GATEWAY_SENDER) if secret else None
        self._redact = settings.production

    def internal_headers(self) -> dict[str, str]:
        """The signed internal header for a request to a subgraph (empty when no secret is set)."""
        return self._signer.headers() if self._signer is not None else {}

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
        return (await self.post_with_hint(service, body, headers))[0]

    async def post_with_hint(
        self, service: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[dict[str, Any], str | None]:
        """The subgraph's GraphQL response and its `Cache-Control` header (gateway.cache)."""
        started = time.perf_counter()
        try:
            if telemetry_tracing.enabled():
                headers = dict(headers)  # the span's context goes into them
                with tracing.fetching(service, self.urls.get(service, ""), headers):
                    answer = await self._post(service, body, headers)
            else:
                answer = await self._post(service, body, headers)
            metrics.observe_fetch(service, started, None)
            return answer
        except SubgraphFetchError as exc:
            metrics.observe_fetch(service, started, exc.code)
            if not self._redact:
                raise
            request_id = headers.get("x-request-id")
            log.warning("fetch from subgraph %s failed (request %s): %s", service, request_id, exc.reason)
            raise exc.redact(request_id) from None

    async def _post(
        self, service: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[dict[str, Any], str | None]:
        if self._signer is not None:
            headers = {**headers, INTERNAL_HEADER: self._signer.value()}
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
                cache_control = response.headers.get("cache-control")
            tracing.note_fetch_status(status)
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
            return payload, cache_control
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
