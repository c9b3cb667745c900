"""Typed settings read once from environment variables, with defaults that run on one laptop."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORTS: dict[str, int] = {
    "gateway": 4000,
    "products": 4001,
    "orders": 4002,
    "payments": 4003,
    "notifications": 4004,
}

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"


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
    jwt_secret: str
    log_level: str
    log_json: bool
    run_worker_in_process: bool

    @property
    def embedded_mongo(self) -> bool:
        return self.mongodb_url is None

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> Settings:
        """Read `<SERVICE>_HOST`, `<SERVICE>_PORT`, `MONGODB_URL`, `REDIS_URL`, `JWT_SECRET`, ...

        With no `MONGODB_URL` the service starts a private wire-protocol server (unless
        `MONGODB_EMBEDDED=0`), or else runs on the in-memory fake; either lives with its process, so
        its queue worker must run in that process too (`RUN_WORKER_IN_PROCESS`).
        """
        env = os.environ if env is None else env
        prefix = _env_prefix(service)
        mongodb_url = env.get("MONGODB_URL") or None
        return cls(
            service=service,
            host=env.get(f"{prefix}_HOST", "127.0.0.1"),
            port=int(env.get(f"{prefix}_PORT", str(DEFAULT_PORTS.get(service, 8000)))),
            mongodb_url=mongodb_url,
            mongodb_database=env.get(f"{prefix}_MONGODB_DATABASE", service),
            mongodb_driver=env.get("MONGODB_DRIVER", "motor").strip().lower() or "motor",
            mongodb_embedded=env_flag(env.get("MONGODB_EMBEDDED"), default=True),
            redis_url=env.get("REDIS_URL") or None,
            jwt_secret=env.get("JWT_SECRET", DEV_JWT_SECRET),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_json=env_flag(env.get("LOG_JSON"), default=False),
            run_worker_in_process=env_flag(env.get("RUN_WORKER_IN_PROCESS"), default=mongodb_url is None),
        )
