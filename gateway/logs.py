"""The gateway's logging: the shared line format (`telemetry.logs`) for the service `gateway`, set from
LOG_LEVEL and LOG_JSON; gateway.access writes one line per request."""

from __future__ import annotations

import os

from telemetry.logs import configure_root, request_id_var, trace_id_var

SERVICE = "gateway"

__all__ = ["SERVICE", "configure_from_env", "configure_logging", "request_id_var", "trace_id_var"]


def configure_logging(level: str = "INFO", json_lines: bool = False, service: str = SERVICE) -> None:
    """Root handler on stderr; idempotent (a later call replaces the handler)."""
    configure_root(service, level, json_lines, propagating=("gateway.startup",))


def configure_from_env(level: str | None = None) -> None:
    """LOG_LEVEL (or `level`) and LOG_JSON from the environment."""
    json_lines = os.environ.get("LOG_JSON", "").strip().lower() in {"1", "true", "yes", "on"}
    configure_logging(level or os.environ.get("LOG_LEVEL", "INFO"), json_lines)
