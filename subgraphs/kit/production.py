"""What `APP_ENV=production` refuses in a service's environment: every development default.

One list for every process that reads the kit settings (each service and each worker process),
including the service-specific defaults, so a worker refuses exactly what its service refuses.
"""

from __future__ import annotations

from collections.abc import Mapping

from authn.appenv import jwt_problems, subgraph_secret_problems

DEV_WEBHOOK_SECRET = "dev-only-webhook-secret-change-me-in-production"


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    return default if not raw else raw in {"1", "true", "yes", "on"}


def service_problems(service: str, env: Mapping[str, str]) -> list[str]:
    problems = jwt_problems(
        secret=env.get("JWT_SECRET") or None,
        public_key=env.get("JWT_PUBLIC_KEY") or None,
        jwks_url=env.get("JWT_JWKS_URL") or None,
        issuer=env.get("JWT_ISSUER") or None,
        audience=env.get("JWT_AUDIENCE") or None,
    )
    problems += subgraph_secret_problems(env.get("SUBGRAPH_SHARED_SECRET") or None)
    if not env.get("MONGODB_URL"):
        problems.append("MONGODB_URL is not set (the embedded development MongoDB is not for production)")
    if not env.get("REDIS_URL"):
        problems.append("REDIS_URL is not set (the embedded development Redis is not for production)")
    if service == "notifications":
        secret = env.get("NOTIFICATIONS_WEBHOOK_SECRET") or ""
        if not secret.strip() or secret == DEV_WEBHOOK_SECRET:
            problems.append("NOTIFICATIONS_WEBHOOK_SECRET is empty or the development secret")
        if _flag(env, "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE", default=True):
            problems.append("NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE must be set to false (webhooks to private networks)")
    if service == "products" and _flag(env, "PRODUCTS_SEED_DEMO", default=False):
        problems.append("PRODUCTS_SEED_DEMO must be off (the demo catalog)")
    if service == "payments" and (env.get("PAYMENTS_PROVIDER_FAULTS") or "").strip():
        problems.append("PAYMENTS_PROVIDER_FAULTS must be empty (fault injection)")
    return problems
