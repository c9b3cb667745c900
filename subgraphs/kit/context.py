"""The per-request GraphQL context shared by every service; services subclass it for their domain."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from subgraphs.kit.auth import Authenticator, Viewer, verifier_for
from subgraphs.kit.internal_access import internal_caller
from subgraphs.kit.runtime import ServiceRuntime

# what a Cache-Tag may hold: no comma (the list separator), no space, no control characters
_CACHE_TAG = re.compile(r"[A-Za-z0-9_.:@/+=-]{1,200}")


def _authorization_from_params(params: Any) -> str | None:
    """graphql-ws clients send the token in the connection_init payload."""
    if not isinstance(params, dict):
        return None
    for key in ("Authorization", "authorization", "authToken", "token"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return value if " " in value else f"Bearer {value}"
    headers = params.get("headers")
    return _authorization_from_params(headers) if isinstance(headers, dict) else None


@dataclass
class RequestContext:
    runtime: ServiceRuntime
    request: Request | WebSocket
    response: Response | WebSocket | None = None
    connection_params: dict[str, Any] | None = None
    loaders: dict[str, Any] = field(default_factory=dict)
    # what the gateway's cache must drop once this request's writes are done (kit.cache_hints)
    invalidations: list[dict[str, Any]] = field(default_factory=list)
    # what this response is made of, for the gateway's cache (kit.cache_hints' `Cache-Tag`)
    cache_tags: set[str] = field(default_factory=set)
    _auth: Authenticator | None = field(default=None, repr=False)

    @property
    def auth(self) -> Authenticator:
        if self._auth is None:
            header = self.request.headers.get("authorization")
            header = header or _authorization_from_params(self.connection_params)
            verifier = verifier_for(self.runtime.settings.verifier_config())
            self._auth = Authenticator(header, verifier, internal_caller(getattr(self.request, "scope", None)))
        return self._auth

    @property
    def viewer(self) -> Viewer | None:
        return self.auth.viewer

    def require_viewer(self) -> Viewer:
        return self.auth.require_viewer()

    def require_scope(self, scope: str) -> Viewer:
        return self.auth.require_scope(scope)

    def invalidate(self, *items: dict[str, Any]) -> None:
        """Ask the gateway to apply these invalidations of this subgraph's cached answers before it
        answers (`{"kind": "entity", "type": ..., "key": ...}`, `{"kind": "tag", "tag": ...}`, ...)."""
        for item in items:
            if item not in self.invalidations:
                self.invalidations.append(item)

    def tag_cache(self, *tags: str) -> None:
        """Name what this response is made of (`product:p-1`): the gateway's cached copy goes when one
        of its tags is invalidated (kit.cache_hints). A tag is 1-200 of `A-Za-z0-9_.:@/+=-`."""
        for tag in tags:
            if not _CACHE_TAG.fullmatch(tag):
                raise ValueError(f"not a cache tag: {tag!r}")
        self.cache_tags.update(tags)

    def loader(self, name: str, factory: Any) -> Any:
        """A per-request DataLoader (or any per-request object) created on first use."""
        if name not in self.loaders:
            self.loaders[name] = factory()
        return self.loaders[name]
