"""Gateway settings, read once from the environment into a typed, immutable dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# The same development default as the services (subgraphs.kit.settings): tokens from
# `python -m gateway token` must verify there. Set JWT_SECRET in production.
DEFAULT_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"


def _csv(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        timeouts: dict[str, float] = {}
        for item in _csv(env.get("SUBGRAPH_TIMEOUTS")):
            name, _, value = item.partition("=")
            timeouts[name.strip()] = float(value)
        urls: dict[str, str] = {}
        for item in _csv(env.get("SUBGRAPH_URLS")):
            name, _, value = item.partition("=")
            urls[name.strip()] = value.strip()
        return cls(
            host=env.get("GATEWAY_HOST", "127.0.0.1"),
            port=_int(env, "GATEWAY_PORT", 4000),
            supergraph_path=env.get("GATEWAY_SUPERGRAPH") or None,
            subgraph_timeout_seconds=_float(env, "SUBGRAPH_TIMEOUT_SECONDS", 10.0),
            subgraph_timeouts=timeouts,
            forward_headers=tuple(h.lower() for h in _csv(env.get("FORWARD_HEADERS"))),
            plan_cache_size=_int(env, "PLAN_CACHE_SIZE", 1024),
            jwt_secret=env.get("JWT_SECRET", DEFAULT_JWT_SECRET),
            graphiql_assets_dir=env.get("GRAPHIQL_ASSETS_DIR") or str(REPO_ROOT / "var" / "graphiql"),
            override_labels=frozenset(_csv(env.get("OVERRIDE_LABELS"))),
            subgraph_urls=urls,
            max_connections_per_subgraph=_int(env, "MAX_CONNECTIONS_PER_SUBGRAPH", 256),
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
