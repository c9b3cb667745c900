"""`APP_ENV` (development | production) and the refusal to run production on development defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

APP_ENVS = ("development", "production")
# The public development HS256 secret: anyone can mint tokens with it, so production refuses it.
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production"


class InsecureConfiguration(ValueError):
    """Production was asked for with settings that are development defaults or missing."""

    def __init__(self, process: str, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{process} refuses to start with APP_ENV=production: " + "; ".join(self.problems))


def read_app_env(env: Mapping[str, str]) -> str:
    """`APP_ENV`, `development` when unset or blank; anything else but the two values is refused."""
    raw = (env.get("APP_ENV") or "").strip().lower() or "development"
    if raw not in APP_ENVS:
        raise ValueError(f"APP_ENV must be development or production, got {env.get('APP_ENV')!r}")
    return raw


def jwt_problems(
    *, secret: str | None, public_key: str | None, jwks_url: str | None, issuer: str | None, audience: str | None
) -> list[str]:
    """What a production process lacks to verify tokens safely (each names its setting)."""
    problems: list[str] = []
    if secret == DEV_JWT_SECRET:
        problems.append("JWT_SECRET is the public development secret (unset it, or set a secret of your own)")
    elif secret is not None and len(secret) < 32:
        problems.append("JWT_SECRET must be at least 32 characters")
    if not (secret or public_key or jwks_url):
        problems.append("no token key: set JWT_JWKS_URL or JWT_PUBLIC_KEY (or JWT_SECRET)")
    if not issuer:
        problems.append("JWT_ISSUER is not set")
    if not audience:
        problems.append("JWT_AUDIENCE is not set")
    return problems


def subgraph_secret_problems(secret: str | None) -> list[str]:
    if not secret:
        return ["SUBGRAPH_SHARED_SECRET is not set"]
    if len(secret) < 32:
        return ["SUBGRAPH_SHARED_SECRET must be at least 32 characters"]
    return []
