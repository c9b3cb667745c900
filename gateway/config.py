"""Gateway settings, read once from the environment into a typed, immutable dataclass.

The `env_*` readers are the ones every settings class of the gateway uses (subscriptions too).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent

# The same development default as the services (subgraphs.kit.settings): tokens from
# `python -m gateway token` must verify there. Set JWT_SECRET in production.
DEFAULT_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"


_T = TypeVar("_T")


def _parse(name: str, raw: str, parse: Callable[[str], _T], what: str) -> _T:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be {what}, got {raw!r}") from exc


def _env_value(env: Mapping[str, str], name: str, default: _T, parse: Callable[[str], _T], what: str) -> _T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return _parse(name, raw, parse, what)


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """A number; `default` when unset or blank; ValueError naming the variable otherwise."""
    return _env_value(env, name, default, float, "a number")


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """An integer; `default` when unset or blank; ValueError naming the variable otherwise."""
    return _env_value(env, name, default, int, "an integer")


def env_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list, items stripped, empty items dropped."""
    value = env.get(name)
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def env_pairs(env: Mapping[str, str], name: str) -> dict[str, str]:
    """A comma-separated list of `key=value` items."""
    pairs: dict[str, str] = {}
    for item in env_list(env, name):
        key, _, value = item.partition("=")
        pairs[key.strip()] = value.strip()
    return pairs


@dataclass(frozen=True, slots=True)
class OperationLimits:
    """Limits every transport applies before any subgraph fetch (gateway.limits); 0 disables one.

    Defaults follow Apollo Router where it has one (body 2 MB, 15,000 parser tokens) and are set so the
    repo's clients, the GraphiQL examples and the standard introspection queries pass.
    """

    http_max_request_bytes: int = 2_000_000
    max_tokens: int = 15_000
    # the standard introspection query is 15 levels deep; clients' newer ones go a little deeper
    max_depth: int = 20
    max_aliases: int = 30
    max_root_fields: int = 20
    # Field selections with every fragment spread expanded (what validation and planning walk).
    max_fields: int = 1_000
    max_cost: int = 10_000
    # Assumed length of a list field without @listSize or a slicing argument.
    default_list_size: int = 10
    # Fresh (uncached) documents are prepared in worker threads, off the event loop; beyond
    # workers + queue waiting preparations a fresh document is refused with 503.
    prepare_workers: int = 1
    prepare_queue: int = 32

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OperationLimits:
        d = cls()
        return cls(
            http_max_request_bytes=env_int(env, "GATEWAY_MAX_REQUEST_BYTES", d.http_max_request_bytes),
            max_tokens=env_int(env, "GATEWAY_MAX_TOKENS", d.max_tokens),
            max_depth=env_int(env, "GATEWAY_MAX_DEPTH", d.max_depth),
            max_aliases=env_int(env, "GATEWAY_MAX_ALIASES", d.max_aliases),
            max_root_fields=env_int(env, "GATEWAY_MAX_ROOT_FIELDS", d.max_root_fields),
            max_fields=env_int(env, "GATEWAY_MAX_FIELDS", d.max_fields),
            max_cost=env_int(env, "GATEWAY_MAX_COST", d.max_cost),
            default_list_size=env_int(env, "GATEWAY_DEFAULT_LIST_SIZE", d.default_list_size),
            prepare_workers=max(1, env_int(env, "GATEWAY_PREPARE_WORKERS", d.prepare_workers)),
            prepare_queue=max(0, env_int(env, "GATEWAY_PREPARE_QUEUE", d.prepare_queue)),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the gateway process needs; build with :meth:`from_env` or directly in tests."""

    host: str = "127.0.0.1"
    port: int = 4000
    supergraph_path: str | None = None
    # SDL text wins over supergraph_path when both are given (tests, `serve --config`).
    supergraph_sdl: str | None = None
    subgraph_timeout_seconds: float = 10.0
    # Per-subgraph overrides of the timeout, by subgraph name.
    subgraph_timeouts: Mapping[str, float] = field(default_factory=dict)
    # Extra request headers (lower-case) forwarded to every subgraph; Authorization always is.
    forward_headers: tuple[str, ...] = ()
    plan_cache_size: int = 1024
    jwt_secret: str = DEFAULT_JWT_SECRET
    graphiql_assets_dir: str = str(REPO_ROOT / "var" / "graphiql")
    # Progressive-override labels switched on regardless of percentages.
    override_labels: frozenset[str] = frozenset()
    # Subgraph URL overrides by subgraph name (useful to point a supergraph at test servers).
    subgraph_urls: Mapping[str, str] = field(default_factory=dict)
    max_connections_per_subgraph: int = 256
    limits: OperationLimits = field(default_factory=OperationLimits)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        timeouts = {
            name: _parse(f"SUBGRAPH_TIMEOUTS ({name})", value, float, "a number")
            for name, value in env_pairs(env, "SUBGRAPH_TIMEOUTS").items()
        }
        return cls(
            host=env.get("GATEWAY_HOST", "127.0.0.1"),
            port=env_int(env, "GATEWAY_PORT", 4000),
            supergraph_path=env.get("GATEWAY_SUPERGRAPH") or None,
            subgraph_timeout_seconds=env_float(env, "SUBGRAPH_TIMEOUT_SECONDS", 10.0),
            subgraph_timeouts=timeouts,
            forward_headers=tuple(h.lower() for h in env_list(env, "FORWARD_HEADERS")),
            plan_cache_size=env_int(env, "PLAN_CACHE_SIZE", 1024),
            jwt_secret=env.get("JWT_SECRET", DEFAULT_JWT_SECRET),
            graphiql_assets_dir=env.get("GRAPHIQL_ASSETS_DIR") or str(REPO_ROOT / "var" / "graphiql"),
            override_labels=frozenset(env_list(env, "OVERRIDE_LABELS")),
            subgraph_urls=env_pairs(env, "SUBGRAPH_URLS"),
            max_connections_per_subgraph=env_int(env, "MAX_CONNECTIONS_PER_SUBGRAPH", 256),
            limits=OperationLimits.from_env(env),
        )

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def timeout_for(self, subgraph: str) -> float:
        return self.subgraph_timeouts.get(subgraph, self.subgraph_timeout_seconds)

    def load_supergraph_sdl(self) -> str:
        if self.supergraph_sdl is not None:
            return self.supergraph_sdl
        if not self.supergraph_path:
            raise ValueError("no supergraph configured: set GATEWAY_SUPERGRAPH or pass --supergraph")
        return Path(self.supergraph_path).read_text(encoding="utf-8")
