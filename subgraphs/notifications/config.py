"""Settings of the notifications service beyond the kit's: SMTP, maildir, webhooks, retries, templates."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from subgraphs.kit.production import DEV_WEBHOOK_SECRET
from subgraphs.kit.settings import env_flag

__all__ = ["DEV_WEBHOOK_SECRET", "NotificationConfig", "SmtpConfig"]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    use_tls: bool
    timeout_seconds: float

    @classmethod
    def from_url(cls, url: str, *, username: str | None, password: str | None,
                 starttls: bool | None, timeout_seconds: float) -> SmtpConfig:
        """`smtp://[user:password@]host[:port]` (STARTTLS optional) or `smtps://...` (implicit TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://host:port or smtps://host:port, got {url!r}")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit_tls else 25),
            username=username or (unquote(parts.username) if parts.username else None),
            password=password or (unquote(parts.password) if parts.password else None),
            starttls=bool(starttls) and not implicit_tls,
            use_tls=implicit_tls,
            timeout_seconds=timeout_seconds,
        )


@dataclass(frozen=True)
class NotificationConfig:
    """Read once from the environment; every field has a default that runs on one laptop."""

    smtp: SmtpConfig | None
    maildir: Path
    email_from: str
    webhook_secret: str
    webhook_timeout_seconds: float
    webhook_allow_private_networks: bool
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    stale_after_seconds: float
    templates_dir: Path
    sms_transport: str | None
    push_transport: str | None
    shop_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotificationConfig:
        """`SMTP_URL` (+ `SMTP_USER`, `SMTP_PASSWORD`, `SMTP_STARTTLS`), `NOTIFICATIONS_MAILDIR`,
        `NOTIFICATIONS_EMAIL_FROM`, `NOTIFICATIONS_WEBHOOK_SECRET`, `NOTIFICATIONS_WEBHOOK_TIMEOUT`,
        `NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE` (default false: webhook URLs resolving to loopback, private,
        link-local, metadata ... addresses are refused; the dev stack and tests with local listeners set it),
        `NOTIFICATIONS_MAX_ATTEMPTS`, `NOTIFICATIONS_RETRY_BASE_SECONDS`, `NOTIFICATIONS_RETRY_MAX_SECONDS`,
        `NOTIFICATIONS_STALE_AFTER_SECONDS`, `NOTIFICATIONS_TEMPLATES_DIR`,
        `NOTIFICATIONS_SMS_TRANSPORT` / `NOTIFICATIONS_PUSH_TRANSPORT` (`module:factory`), `SHOP_NAME`.
        """
        env = os.environ if env is None else env
        smtp_url = env.get("SMTP_URL") or None
        smtp_timeout = float(env.get("SMTP_TIMEOUT", "10"))
        smtp = None
        if smtp_url:
            smtp = SmtpConfig.from_url(
                smtp_url,
                username=env.get("SMTP_USER") or None,
                password=env.get("SMTP_PASSWORD") or None,
                starttls=env_flag(env.get("SMTP_STARTTLS"), default=False),
                timeout_seconds=smtp_timeout,
            )
        max_attempts = int(env.get("NOTIFICATIONS_MAX_ATTEMPTS", "5"))
        if max_attempts < 1:
            raise ValueError("NOTIFICATIONS_MAX_ATTEMPTS must be at least 1")
        return cls(
            smtp=smtp,
            maildir=Path(env.get("NOTIFICATIONS_MAILDIR", "var/mail")),
            email_from=env.get("NOTIFICATIONS_EMAIL_FROM", "Supershop <no-reply@supershop.local>"),
            webhook_secret=env.get("NOTIFICATIONS_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET),
            webhook_timeout_seconds=float(env.get("NOTIFICATIONS_WEBHOOK_TIMEOUT", "10")),
            webhook_allow_private_networks=env_flag(env.get("NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE"), default=False),
            max_attempts=max_attempts,
            retry_base_seconds=float(env.get("NOTIFICATIONS_RETRY_BASE_SECONDS", "5")),
            retry_max_seconds=float(env.get("NOTIFICATIONS_RETRY_MAX_SECONDS", "900")),
            stale_after_seconds=float(env.get("NOTIFICATIONS_STALE_AFTER_SECONDS", "600")),
            templates_dir=Path(env.get("NOTIFICATIONS_TEMPLATES_DIR") or TEMPLATES_DIR),
            sms_transport=env.get("NOTIFICATIONS_SMS_TRANSPORT") or None,
            push_transport=env.get("NOTIFICATIONS_PUSH_TRANSPORT") or None,
            shop_name=env.get("SHOP_NAME", "Supershop"),
        )

    def retry_delay(self, attempt: int) -> float:
        """Exponential backoff after the given (1-based) failed attempt: base, 4x base, 16x base, ... capped."""
        return float(min(self.retry_max_seconds, self.retry_base_seconds * 4 ** (attempt - 1)))
