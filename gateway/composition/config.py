"""Reading Rover's supergraph config YAML (`subgraphs: NAME: {routing_url, schema: {...}}`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import yaml

from authn.internal import GATEWAY_SENDER, InternalSigner

from .compose import compose
from .errors import CompositionError, CompositionIssue, SubgraphUnavailable
from .source import SubgraphSource

INTROSPECTION_TIMEOUT_SECONDS = 10.0
_SDL_QUERY = "query SubgraphIntrospectQuery { _service { sdl } }"


def _config_error(message: str, subgraph: str | None = None) -> CompositionError:
    return CompositionError([CompositionIssue("CONFIG_ERROR", message, [subgraph] if subgraph else [])])


def load_supergraph_config(path: str) -> list[SubgraphSource]:
    """Read a Rover supergraph config; schema files are relative to the config's folder."""
    config_path = Path(path)
    try:
        raw = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _config_error(f"cannot read supergraph config {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise _config_error(f"supergraph config {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise _config_error(f"supergraph config {path} must be a mapping with a 'subgraphs' key")
    _check_federation_version(path, data.get("federation_version"))
    subgraphs = data.get("subgraphs")
    if not isinstance(subgraphs, dict) or not subgraphs:
        raise _config_error(f"supergraph config {path} must define at least one subgraph under 'subgraphs'")
    sources: list[SubgraphSource] = []
    unavailable: list[CompositionIssue] = []
    for name, entry in subgraphs.items():  # every subgraph is tried, so one error names all that are down
        try:
            sources.append(_load_subgraph(config_path.parent, str(name), entry))
        except SubgraphUnavailable as exc:
            unavailable.extend(exc.issues)
    if unavailable:
        raise SubgraphUnavailable(unavailable)
    return sources


def compose_config(path: str) -> str:
    return compose(load_supergraph_config(path))


def _check_federation_version(path: str, version: Any) -> None:
    if version is None:
        return
    if not re.fullmatch(r"=?2(\.\d+){0,2}(-[\w.]+)?", str(version).strip()):
        raise _config_error(
            f"supergraph config {path}: unsupported federation_version {version!r} (this composer emits Federation 2)"
        )


def _unavailable(message: str, subgraph: str) -> SubgraphUnavailable:
    return SubgraphUnavailable([CompositionIssue("CONFIG_ERROR", message, [subgraph])])


def _load_subgraph(base: Path, name: str, entry: Any) -> SubgraphSource:
    if not isinstance(entry, dict):
        raise _config_error(f'subgraph "{name}": expected a mapping with routing_url and schema', name)
    schema = entry.get("schema")
    if not isinstance(schema, dict):
        raise _config_error(f'subgraph "{name}": missing "schema" (one of file, subgraph_url, sdl)', name)
    url = entry.get("routing_url")
    if "file" in schema:
        file_path = base / str(schema["file"])
        try:
            sdl = file_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _config_error(
                f'subgraph "{name}": cannot read schema file {file_path}: {exc.strerror or exc}', name
            ) from exc
    elif "sdl" in schema:
        sdl = schema["sdl"]
        if not isinstance(sdl, str):
            raise _config_error(f'subgraph "{name}": schema.sdl must be a string', name)
    elif "subgraph_url" in schema:
        introspection_url = str(schema["subgraph_url"])
        sdl = fetch_subgraph_sdl(name, introspection_url)
        url = url or introspection_url
    else:
        raise _config_error(f'subgraph "{name}": schema needs one of "file", "subgraph_url" or "sdl"', name)
    if not isinstance(url, str) or not url:
        raise _config_error(f'subgraph "{name}": missing "routing_url"', name)
    return SubgraphSource(name=name, url=url, sdl=sdl)


def _internal_headers() -> dict[str, str]:
    """Subgraphs closed to strangers (SUBGRAPH_SHARED_SECRET) answer composition as the gateway."""
    secret = os.environ.get("SUBGRAPH_SHARED_SECRET")
    return InternalSigner(secret, GATEWAY_SENDER).headers() if secret else {}


def fetch_subgraph_sdl(name: str, url: str, timeout: float = INTROSPECTION_TIMEOUT_SECONDS) -> str:
    """Fetch `{ _service { sdl } }` from a running subgraph."""
    try:
        response = httpx.post(url, json={"query": _SDL_QUERY}, timeout=timeout, headers=_internal_headers())
    except httpx.HTTPError as exc:
        raise _unavailable(f'subgraph "{name}": cannot reach {url} to fetch its schema: {exc}', name) from exc
    if response.status_code != 200:
        raise _unavailable(
            f'subgraph "{name}": {url} answered HTTP {response.status_code} to _service {{ sdl }}', name
        )
    try:
        sdl = response.json()["data"]["_service"]["sdl"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _unavailable(
            f'subgraph "{name}": {url} did not return data._service.sdl ({response.text[:200]})', name
        ) from exc
    if not isinstance(sdl, str):
        raise _unavailable(f'subgraph "{name}": {url} returned a non-string _service.sdl', name)
    return sdl
