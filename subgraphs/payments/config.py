"""Tunables of the payments service, read once from the environment (short values make tests fast)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from subgraphs.payments.providers.faults import FaultPlan
from subgraphs.payments.providers.ledger import DEFAULT_LEDGER_DATABASE

QUEUE_NAME = "payments"


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    return float(raw) if raw else default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class PaymentsConfig:
    queue_name: str = QUEUE_NAME
    # Provider calls within one attempt (transient errors and timeouts) before the payment fails.
    max_provider_tries: int = 5
    # arq's own cap on runs of one job; generous because circuit-breaker deferrals also count as runs.
    job_max_tries: int = 200
    # The longest one job may run; arq re-runs a job whose worker died `job_timeout + 10` s later.
    job_timeout_seconds: float = 30.0
    provider_timeout_seconds: float = 10.0
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0
    breaker_failure_threshold: int = 5
    breaker_window_seconds: float = 60.0
    breaker_cooldown_seconds: float = 30.0
    # Simulated providers: how long the slow test card takes, how often the flaky card fails, the
    # injected faults, and the MongoDB database (on MONGODB_URL) that stands for their remote books.
    slow_charge_seconds: float = 3.0
    transient_failures: int = 2
    provider_faults: FaultPlan = field(default_factory=FaultPlan)
    ledger_database: str = DEFAULT_LEDGER_DATABASE
    # Reconciliation: how often it runs and when a PENDING/PROCESSING payment counts as stuck.
    reconcile_interval_seconds: int = 60
    stale_after_seconds: float = 120.0

    def __post_init__(self) -> None:
        if self.provider_timeout_seconds >= self.job_timeout_seconds:
            raise ValueError("PAYMENTS_PROVIDER_TIMEOUT must be shorter than PAYMENTS_JOB_TIMEOUT")
        if self.max_provider_tries < 1 or self.breaker_failure_threshold < 1:
            raise ValueError("payment retry and breaker limits must be at least 1")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PaymentsConfig:
        env = os.environ if env is None else env
        return cls(
            queue_name=env.get("PAYMENTS_QUEUE", QUEUE_NAME),
            max_provider_tries=_int(env, "PAYMENTS_MAX_PROVIDER_TRIES", cls.max_provider_tries),
            job_max_tries=_int(env, "PAYMENTS_JOB_MAX_TRIES", cls.job_max_tries),
            job_timeout_seconds=_float(env, "PAYMENTS_JOB_TIMEOUT", cls.job_timeout_seconds),
            provider_timeout_seconds=_float(env, "PAYMENTS_PROVIDER_TIMEOUT", cls.provider_timeout_seconds),
            backoff_base_seconds=_float(env, "PAYMENTS_BACKOFF_BASE", cls.backoff_base_seconds),
            backoff_cap_seconds=_float(env, "PAYMENTS_BACKOFF_CAP", cls.backoff_cap_seconds),
            breaker_failure_threshold=_int(env, "PAYMENTS_BREAKER_THRESHOLD", cls.breaker_failure_threshold),
            breaker_window_seconds=_float(env, "PAYMENTS_BREAKER_WINDOW", cls.breaker_window_seconds),
            breaker_cooldown_seconds=_float(env, "PAYMENTS_BREAKER_COOLDOWN", cls.breaker_cooldown_seconds),
            slow_charge_seconds=_float(env, "PAYMENTS_SLOW_CHARGE_SECONDS", cls.slow_charge_seconds),
            transient_failures=_int(env, "PAYMENTS_TRANSIENT_FAILURES", cls.transient_failures),
            provider_faults=FaultPlan.parse(env.get("PAYMENTS_PROVIDER_FAULTS")),
            ledger_database=env.get("PAYMENTS_PROVIDER_LEDGER_DATABASE") or DEFAULT_LEDGER_DATABASE,
            reconcile_interval_seconds=_int(env, "PAYMENTS_RECONCILE_INTERVAL", cls.reconcile_interval_seconds),
            stale_after_seconds=_float(env, "PAYMENTS_STALE_AFTER", cls.stale_after_seconds),
        )
