"""Typed settings read once from environment variables, with defaults that run on one laptop."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from authn.appenv import DEV_JWT_SECRET, InsecureConfiguration, read_app_env
from authn.tokens import TokenVerifier, VerifierConfig
from subgraphs.kit.production import service_problems

DEFAULT_PORTS: dict[str, int] = {
    "gateway": 4000,
    "products": 4001,
    "orders": 4002,
    "payments": 4003,
    "notifications": 4004,
}

__all__ = ["DEFAULT_PORTS", "DEV_JWT_SECRET", "Settings", "env_flag", "service_url"]


def _env_prefix(service: str) -> str:
    return service.upper().replace("-", "_")


def service_url(name: str, env: Mapping[str, str] | None = None) -> str:
    """The GraphQL URL of another service: `<NAME>_URL`, else its default local port."""
    env = os.environ if env is None else env
    default = f"http://127.0.0.1:{DEFAULT_PORTS[name]}/graphql"
    return env.get(f"{_env_prefix(name)}_URL", default)


def env_flag(value: str | None, default: bool) -> bool:
    """An on/off environment variable: 1, true, yes or on (any case) is on; unset or blank is `default`."""
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    service: str
    host: str
    port: int
    mongodb_url: str | None
    mongodb_database: str
    mongodb_driver: str
    mongodb_embedded: bool
    redis_url: str | None
    # HS256 key; None in production unless JWT_SECRET is set (then only public keys verify tokens).
    jwt_secret: str | None
    log_level: str
    log_json: bool
    run_worker_in_process: bool
    # A background loop (queue worker, event consumer, outbox relay) that has not completed a round
    # for this long is reported by /ready as not polling.
    loop_stale_after_seconds: float = 20.0
    # On shutdown, how long in-flight queue jobs may run on before they are cancelled (and re-run later).
    worker_shutdown_grace_seconds: float = 10.0
    app_env: str = "development"
    jwt_public_key: str | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_min_refresh_seconds: float = 30.0
    # Callers of /graphql must prove they are the gateway or a service (authn.internal); required in
    # production, off in development unless set.
    subgraph_shared_secret: str | None = None
    subgraph_max_skew_seconds: float = 60.0

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    def verifier_config(self) -> VerifierConfig:
        return VerifierConfig(
            secret=self.jwt_secret,
            public_key=self.jwt_public_key,
            jwks_url=self.jwt_jwks_url,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            jwks_min_refresh_seconds=self.jwks_min_refresh_seconds,
        )

    @property
    def embedded_mongo(self) -> bool:
        return self.mongodb_url is None

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> Settings:
        """Read `<SERVICE>_HOST`, `<SERVICE>_PORT`, `MONGODB_URL`, `REDIS_URL`, `JWT_SECRET`, ...

        With no `MONGODB_URL` the service starts a private wire-protocol server (unless
        `MONGODB_EMBEDDED=0`), or else runs on the in-memory fake; either lives with its process, so
        its queue worker must run in that process too (`RUN_WORKER_IN_PROCESS`).

        With `APP_ENV=production` every development default is refused (:class:`InsecureConfiguration`
        naming the settings), so a service or worker process does not start on them.
        """
        env = os.environ if env is None else env
        prefix = _env_prefix(service)
        mongodb_url = env.get("MONGODB_URL") or None
        app_env = read_app_env(env)
        if app_env == "production":
            problems = service_problems(service, env)
            if problems:
                raise InsecureConfiguration(service, problems)
        settings = cls(
            service=service,
            host=env.get(f"{prefix}_HOST", "127.0.0.1"),
            port=int(env.get(f"{prefix}_PORT", str(DEFAULT_PORTS.get(service, 8000)))),
            mongodb_url=mongodb_url,
            mongodb_database=env.get(f"{prefix}_MONGODB_DATABASE", service),
            mongodb_driver=env.get("MONGODB_DRIVER", "motor").strip().lower() or "motor",
            mongodb_embedded=env_flag(env.get("MONGODB_EMBEDDED"), default=True),
            redis_url=env.get("REDIS_URL") or None,
            jwt_secret=env.get("JWT_SECRET") or (None if app_env == "production" else DEV_JWT_SECRET),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_json=env_flag(env.get("LOG_JSON"), default=False),
            run_worker_in_process=env_flag(env.get("RUN_WORKER_IN_PROCESS"), default=mongodb_url is None),
            loop_stale_after_seconds=float(env.get("LOOP_STALE_SECONDS", "20")),
            worker_shutdown_grace_seconds=float(env.get("WORKER_SHUTDOWN_GRACE_SECONDS", "10")),
            app_env=app_env,
            jwt_public_key=env.get("JWT_PUBLIC_KEY") or None,
            jwt_jwks_url=env.get("JWT_JWKS_URL") or None,
            jwt_issuer=env.get("JWT_ISSUER") or None,
            jwt_audience=env.get("JWT_AUDIENCE") or None,
            jwks_min_refresh_seconds=float(env.get("JWT_JWKS_MIN_REFRESH_SECONDS") or "30"),
            subgraph_shared_secret=env.get("SUBGRAPH_SHARED_SECRET") or None,
            subgraph_max_skew_seconds=float(env.get("SUBGRAPH_MAX_SKEW_SECONDS") or "60"),
        )
        if settings.jwt_public_key:
            TokenVerifier(settings.verifier_config())  # a bad PEM is refused at start, naming JWT_PUBLIC_KEY
        return settings
