"""Gateway settings, read once from the environment into a typed, immutable dataclass.

The `env_*` readers are the ones every settings class of the gateway uses (subscriptions too).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from authn.appenv import DEV_JWT_SECRET, InsecureConfiguration, jwt_problems, read_app_env, subgraph_secret_problems
from authn.tokens import VerifierConfig

from .ratelimit.clients import parse_networks
from .ratelimit.rules import DEFAULT_GENERAL, DEFAULT_RULES, RateRule, parse_general, parse_rules

REPO_ROOT = Path(__file__).resolve().parent.parent

# The same development default as the services (authn.appenv): tokens from `python -m gateway token`
# must verify there. Production refuses it (docs/security.md).
DEFAULT_JWT_SECRET = DEV_JWT_SECRET


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


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """true/false (1/0, yes/no, on/off); `default` when unset or blank; ValueError naming the variable otherwise."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {env.get(name)!r}")


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
class CacheSettings:
    """The entity and query cache (gateway.cache, docs/gateway.md); off unless `enabled`."""

    enabled: bool = False
    # None: the gateway's Redis (GATEWAY_REDIS_URL / REDIS_URL)
    redis_url: str | None = None
    key_prefix: str = "gw:cache:"
    # A subgraph's max-age is capped at this.
    max_ttl_seconds: int = 300
    # generous: under load a reply waits for the event loop too, and a timeout bypasses the cache for 2 s
    redis_timeout_seconds: float = 1.0
    # Bearer token of POST `invalidation_path`; None: the endpoint is off (404).
    invalidation_token: str | None = None
    invalidation_path: str = "/cache/invalidation"
    # The in-process tier of whole responses (gateway.cache.local), per worker; 0: Redis only.
    local_max_bytes: int = 32 * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CacheSettings:
        d = cls()
        url = env.get("GATEWAY_CACHE_URL") or None
        return cls(
            enabled=env_bool(env, "GATEWAY_CACHE", url is not None),
            redis_url=url,
            key_prefix=env.get("GATEWAY_CACHE_KEY_PREFIX") or d.key_prefix,
            max_ttl_seconds=max(1, env_int(env, "GATEWAY_CACHE_MAX_TTL_SECONDS", d.max_ttl_seconds)),
            redis_timeout_seconds=env_float(env, "GATEWAY_CACHE_REDIS_TIMEOUT_SECONDS", d.redis_timeout_seconds),
            invalidation_token=env.get("GATEWAY_CACHE_INVALIDATION_TOKEN") or None,
            invalidation_path=env.get("GATEWAY_CACHE_INVALIDATION_PATH") or d.invalidation_path,
            local_max_bytes=max(0, env_int(env, "GATEWAY_CACHE_LOCAL_MAX_MB", d.local_max_bytes >> 20)) << 20,
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
    # HS256 key (development); None in production unless JWT_SECRET is set. See docs/security.md.
    jwt_secret: str | None = DEFAULT_JWT_SECRET
    graphiql_assets_dir: str = str(REPO_ROOT / "var" / "graphiql")
    # Progressive-override labels switched on regardless of percentages.
    override_labels: frozenset[str] = frozenset()
    # Subgraph URL overrides by subgraph name (useful to point a supergraph at test servers).
    subgraph_urls: Mapping[str, str] = field(default_factory=dict)
    max_connections_per_subgraph: int = 256
    # a longer subgraph response body (raw or decoded) fails its fetch: a broken subgraph can't exhaust memory
    max_subgraph_response_bytes: int = 64 * 1024 * 1024
    # Identical subgraph queries in flight at once share one request (gateway.execution.dedup).
    deduplicate_fetches: bool = True
    limits: OperationLimits = field(default_factory=OperationLimits)
    # development | production (APP_ENV); production closes CORS and turns rate limiting on by default.
    app_env: str = "development"
    # --- edge: rate limits, CORS, persisted queries (docs/edge.md) ---
    # Shared state of all gateway instances (rate-limit buckets, APQ cache); None: in-process only.
    redis_url: str | None = None
    rate_limit_enabled: bool = False
    rate_limit_general: RateRule = DEFAULT_GENERAL
    rate_limit_rules: tuple[RateRule, ...] = DEFAULT_RULES
    rate_limit_key_prefix: str = "gw:rl:"
    # Peers whose forwarding header is believed (CIDRs); and which header that is.
    trusted_proxies: tuple[str, ...] = ()
    forwarded_header: str = "x-forwarded-for"
    cors_allow_origins: tuple[str, ...] = ()
    # None: the development default (localhost on any port) outside production, nothing in production.
    cors_allow_origin_regex: str | None = None
    cors_allow_credentials: bool = False
    cors_max_age: int = 600
    apq_enabled: bool = True
    apq_ttl_seconds: int = 86400
    apq_cache_size: int = 1024
    apq_key_prefix: str = "gw:apq:"
    # Safelist mode: only the operations of this Apollo persisted-query manifest run.
    persisted_queries_manifest: str | None = None
    jwt_public_key: str | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_min_refresh_seconds: float = 30.0
    # Signs every request to the subgraphs (authn.internal); required in production.
    subgraph_shared_secret: str | None = None
    # None: on in development, off in production (GATEWAY_INTROSPECTION, GATEWAY_GRAPHIQL).
    introspection_enabled: bool | None = None
    graphiql_enabled: bool | None = None
    # `module:attribute` of the @policy decider (gateway.authz.policies); None: DefaultPolicies
    policy_decider: str | None = None
    cache: CacheSettings = field(default_factory=CacheSettings)
    # Cyclic GC once the worker has started (gateway.gc_tuning): freeze start-up's objects, and the
    # generation-0 threshold (0: Python's default, 700). Served from the environment, both are on
    # (freeze, 50,000: measured in bench/gateway/ab.py); a Settings built in code (tests, embedding)
    # leaves the process's collector alone.
    gc_freeze: bool = False
    gc_gen0_threshold: int = 0
    # The HTTP/1.1 protocol under uvicorn's server: "gateway" (gateway.http1) or "uvicorn" (its own
    # httptools protocol), GATEWAY_HTTP.
    http_protocol: str = "gateway"

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def introspection(self) -> bool:
        return not self.production if self.introspection_enabled is None else self.introspection_enabled

    @property
    def graphiql(self) -> bool:
        return not self.production if self.graphiql_enabled is None else self.graphiql_enabled

    def verifier_config(self) -> VerifierConfig:
        return VerifierConfig(
            secret=self.jwt_secret,
            public_key=self.jwt_public_key,
            jwks_url=self.jwt_jwks_url,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            jwks_min_refresh_seconds=self.jwks_min_refresh_seconds,
        )

    def check_production(self) -> None:
        """In production, refuse development defaults (:class:`InsecureConfiguration` naming each)."""
        if not self.production:
            return
        problems = jwt_problems(
            secret=self.jwt_secret,
            public_key=self.jwt_public_key,
            jwks_url=self.jwt_jwks_url,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
        )
        problems += subgraph_secret_problems(self.subgraph_shared_secret)
        if problems:
            raise InsecureConfiguration("the gateway", problems)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        timeouts = {
            name: _parse(f"SUBGRAPH_TIMEOUTS ({name})", value, float, "a number")
            for name, value in env_pairs(env, "SUBGRAPH_TIMEOUTS").items()
        }
        app_env = read_app_env(env)
        introspection = env.get("GATEWAY_INTROSPECTION", "").strip()
        graphiql = env.get("GATEWAY_GRAPHIQL", "").strip()
        settings = cls(
            host=env.get("GATEWAY_HOST", "127.0.0.1"),
            port=env_int(env, "GATEWAY_PORT", 4000),
            supergraph_path=env.get("GATEWAY_SUPERGRAPH") or None,
            subgraph_timeout_seconds=env_float(env, "SUBGRAPH_TIMEOUT_SECONDS", 10.0),
            subgraph_timeouts=timeouts,
            forward_headers=tuple(h.lower() for h in env_list(env, "FORWARD_HEADERS")),
            plan_cache_size=env_int(env, "PLAN_CACHE_SIZE", 1024),
            jwt_secret=env.get("JWT_SECRET") or (None if app_env == "production" else DEFAULT_JWT_SECRET),
            graphiql_assets_dir=env.get("GRAPHIQL_ASSETS_DIR") or str(REPO_ROOT / "var" / "graphiql"),
            override_labels=frozenset(env_list(env, "OVERRIDE_LABELS")),
            subgraph_urls=env_pairs(env, "SUBGRAPH_URLS"),
            max_connections_per_subgraph=env_int(env, "MAX_CONNECTIONS_PER_SUBGRAPH", 256),
            max_subgraph_response_bytes=max(1, env_int(env, "SUBGRAPH_MAX_RESPONSE_MB", 64)) << 20,
            deduplicate_fetches=env_bool(env, "GATEWAY_DEDUPLICATE_FETCHES", True),
            limits=OperationLimits.from_env(env),
            app_env=app_env,
            redis_url=env.get("GATEWAY_REDIS_URL") or env.get("REDIS_URL") or None,
            rate_limit_enabled=env_bool(env, "RATE_LIMIT_ENABLED", app_env == "production"),
            rate_limit_general=parse_general(env.get("RATE_LIMIT_GENERAL") or "600/60"),
            rate_limit_rules=parse_rules(env.get("RATE_LIMIT_RULES", "")),
            rate_limit_key_prefix=env.get("RATE_LIMIT_KEY_PREFIX") or "gw:rl:",
            trusted_proxies=_trusted_proxies(env_list(env, "TRUSTED_PROXIES")),
            forwarded_header=_forwarded_header(env.get("FORWARDED_HEADER") or "x-forwarded-for"),
            cors_allow_origins=env_list(env, "CORS_ALLOW_ORIGINS"),
            cors_allow_origin_regex=env.get("CORS_ALLOW_ORIGIN_REGEX") or None,
            cors_allow_credentials=env_bool(env, "CORS_ALLOW_CREDENTIALS", False),
            cors_max_age=env_int(env, "CORS_MAX_AGE", 600),
            apq_enabled=env_bool(env, "APQ_ENABLED", True),
            apq_ttl_seconds=env_int(env, "APQ_TTL_SECONDS", 86400),
            apq_cache_size=env_int(env, "APQ_CACHE_SIZE", 1024),
            apq_key_prefix=env.get("APQ_KEY_PREFIX") or "gw:apq:",
            persisted_queries_manifest=env.get("PERSISTED_QUERIES_MANIFEST") or None,
            jwt_public_key=env.get("JWT_PUBLIC_KEY") or None,
            jwt_jwks_url=env.get("JWT_JWKS_URL") or None,
            jwt_issuer=env.get("JWT_ISSUER") or None,
            jwt_audience=env.get("JWT_AUDIENCE") or None,
            jwks_min_refresh_seconds=env_float(env, "JWT_JWKS_MIN_REFRESH_SECONDS", 30.0),
            subgraph_shared_secret=env.get("SUBGRAPH_SHARED_SECRET") or None,
            introspection_enabled=env_bool(env, "GATEWAY_INTROSPECTION", False) if introspection else None,
            graphiql_enabled=env_bool(env, "GATEWAY_GRAPHIQL", False) if graphiql else None,
            policy_decider=env.get("GATEWAY_POLICY_DECIDER") or None,
            cache=CacheSettings.from_env(env),
            gc_freeze=env_bool(env, "GATEWAY_GC_FREEZE", True),
            gc_gen0_threshold=env_int(env, "GATEWAY_GC_GEN0_THRESHOLD", 50_000),
            http_protocol=_http_protocol(env),
        )
        settings.check_production()
        return settings

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def cache_redis_url(self) -> str | None:
        """The Redis of the entity and query cache; None when the cache is off or has no Redis."""
        if not self.cache.enabled:
            return None
        return self.cache.redis_url or self.redis_url

    def timeout_for(self, subgraph: str) -> float:
        return self.subgraph_timeouts.get(subgraph, self.subgraph_timeout_seconds)

    def load_supergraph_sdl(self) -> str:
        if self.supergraph_sdl is not None:
            return self.supergraph_sdl
        if not self.supergraph_path:
            raise ValueError("no supergraph configured: set GATEWAY_SUPERGRAPH or pass --supergraph")
        return Path(self.supergraph_path).read_text(encoding="utf-8")


def _forwarded_header(value: str) -> str:
    name = value.strip().lower()
    if name not in ("x-forwarded-for", "forwarded"):
        raise ValueError(f"FORWARDED_HEADER must be x-forwarded-for or forwarded, got {value!r}")
    return name


def _trusted_proxies(cidrs: tuple[str, ...]) -> tuple[str, ...]:
    parse_networks(cidrs)  # ValueError naming TRUSTED_PROXIES and the bad entry
    return cidrs


HTTP_PROTOCOLS = ("gateway", "uvicorn")


def _http_protocol(env: Mapping[str, str]) -> str:
    value = (env.get("GATEWAY_HTTP") or "gateway").strip().lower()
    if value not in HTTP_PROTOCOLS:
        raise ValueError(f"GATEWAY_HTTP must be one of {', '.join(HTTP_PROTOCOLS)}, not {value!r}")
    return value
