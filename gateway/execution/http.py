"""Subgraph fetches: POST the GraphQL request, map every failure to a typed `SubgraphFetchError`.

The wire is `transport` (a lean HTTP/1.1 client with a keep-alive pool per subgraph): aiohttp cost
about half of the gateway's CPU on a two-fetch query. The header block of a request is encoded once
and reused by all its fetches; the response's `Cache-Control` and `Cache-Tag` go to the cache
(gateway.cache).
Every request carries the gateway's signed internal header
(authn.internal, recomputed once a second) when `SUBGRAPH_SHARED_SECRET` is set. With tracing on,
each fetch is a CLIENT span whose context goes out as `traceparent`. In production a failed fetch
tells the client only the code and the subgraph: the transport detail (addresses, ports, OS errors)
is logged with the request id instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson

from authn.internal import GATEWAY_SENDER, INTERNAL_HEADER, InternalSigner
from telemetry import tracing as telemetry_tracing

from .. import metrics, tracing
from ..config import Settings
from .dedup import InFlight, identity
from .transport import Origin, Pool, TransportError, TransportTimeout, encode_headers

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
        self._pools: dict[str, Pool] = {}
        self._timeouts = {name: settings.timeout_for(name) for name in self.urls}
        secret = settings.subgraph_shared_secret
        self._signer = InternalSigner(secret, GATEWAY_SENDER) if secret else None
        self._redact = settings.production
        self._in_flight = InFlight() if settings.deduplicate_fetches else None

    def internal_headers(self) -> dict[str, str]:
        """The signed internal header for a request to a subgraph (empty when no secret is set)."""
        return self._signer.headers() if self._signer is not None else {}

    @property
    def shared_fetches(self) -> int:
        """How many fetches so far shared an identical fetch's exchange (gateway.execution.dedup)."""
        return self._in_flight.joined if self._in_flight is not None else 0

    def encode_headers(self, headers: Mapping[str, str]) -> bytes:
        """The header block of a subgraph request (the internal header included), for `post(wire=...)`."""
        if self._signer is not None:
            headers = {**headers, INTERNAL_HEADER: self._signer.value()}
        return encode_headers(headers)

    async def start(self) -> None:
        """Nothing to open ahead: connections are made on first use and kept alive."""

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    async def post(
        self,
        service: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        wire: bytes | None = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        return (await self.post_with_hint(service, body, headers, wire=wire, idempotent=idempotent))[0]

    async def post_with_hint(
        self,
        service: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        wire: bytes | None = None,
        idempotent: bool = False,
    ) -> tuple[dict[str, Any], str | None, str | None]:
        """The subgraph's GraphQL response and its `Cache-Control` and `Cache-Tag` headers (gateway.cache).

        `wire`: `headers` already encoded by `encode_headers`; `idempotent` (a query): it may be sent
        again when a kept-alive connection turns out closed, and share the exchange of an identical
        fetch in flight (gateway.execution.dedup)."""
        started = time.perf_counter()
        try:
            if telemetry_tracing.enabled():
                traced = dict(headers)  # the span's context goes into them: encoded per fetch
                with tracing.fetching(service, self.urls.get(service, ""), traced):
                    answer = await self._post(service, body, traced, self.encode_headers(traced), idempotent)
            else:
                answer = await self._post(service, body, headers, wire or self.encode_headers(headers), idempotent)
            metrics.observe_fetch(service, started, None)
            return answer
        except SubgraphFetchError as exc:
            metrics.observe_fetch(service, started, exc.code)
            if not self._redact:
                raise
            request_id = headers.get("x-request-id")
            log.warning("fetch from subgraph %s failed (request %s): %s", service, request_id, exc.reason)
            raise exc.redact(request_id) from None

    def _pool(self, service: str) -> Pool:
        pool = self._pools.get(service)
        if pool is None:
            url = self.urls.get(service)
            if not url:
                raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", "no URL configured for the subgraph")
            try:
                origin = Origin(url)
            except ValueError as exc:
                raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", str(exc)) from None
            pool = self._pools[service] = Pool(
                origin, self.settings.max_connections_per_subgraph, self.settings.max_subgraph_response_bytes
            )
        return pool

    async def _post(
        self, service: str, body: bytes, headers: Mapping[str, str], wire: bytes, idempotent: bool
    ) -> tuple[dict[str, Any], str | None, str | None]:
        pool = self._pool(service)
        timeout = self._timeouts.get(service)
        if timeout is None:
            timeout = self._timeouts[service] = self.settings.timeout_for(service)
        try:
            if idempotent and self._in_flight is not None:
                status, raw, cache_control, cache_tag = await self._in_flight.share(
                    identity(service, body, headers), lambda: pool.request(wire, body, timeout, True)
                )
            else:
                status, raw, cache_control, cache_tag = await pool.request(wire, body, timeout, idempotent)
        # one name per clause: compiled (mypyc), a name shared by two clauses is typed by the first
        except TransportTimeout as timed_out:
            raise SubgraphFetchError(
                service, "SUBREQUEST_TIMEOUT", f"request timed out after {timeout:g}s"
            ) from timed_out
        except TransportError as failed:
            raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", str(failed)) from failed
        tracing.note_fetch_status(status)
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and ("data" in payload or "errors" in payload):
            if status >= 400 and payload.get("data") is None and not payload.get("errors"):
                raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", f"{status}", status)
            return payload, cache_control, cache_tag
        if status >= 400:
            raise SubgraphFetchError(service, "SUBREQUEST_HTTP_ERROR", f"{status}: {_reason(status)}", status)
        raise SubgraphFetchError(
            service, "SUBREQUEST_HTTP_ERROR", "the subgraph response is not a GraphQL JSON response", status
        )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"
