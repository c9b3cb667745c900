"""The arq functions of the "payments" queue, shared by the worker process and the in-process worker."""

from __future__ import annotations

from typing import Any

from arq import Retry, cron, func
from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from arq.worker import Function
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from subgraphs.kit.tracing import TRACE_FIELD, context_of, running_job
from subgraphs.payments.components import PROCESS_PAYMENT, PaymentsCore
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.processor import PaymentProcessor
from subgraphs.payments.reconciliation import Reconciler

CTX_KEY = "payments"
REDIS_OUTAGE_DEFER_SECONDS = 1.0


async def process_payment(ctx: dict[str, Any], payment_id: str, attempt: int, spec: dict[str, Any]) -> str:
    core: PaymentsCore = ctx[CTX_KEY]
    job_try = int(ctx.get("job_try", 1))
    try:
        # The spec carries the context (`traced_spec`); a job queued without it continues the payment's.
        carried = spec.get(TRACE_FIELD) or await context_of(core.store.collection, payment_id)
        with running_job(PROCESS_PAYMENT, carried, job_try):
            return await PaymentProcessor(core).run(payment_id, attempt, spec, job_try=job_try)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        # Redis (ledger, breaker) went away mid-job: the outcome is unknown, the same key makes a re-run safe.
        raise Retry(defer=REDIS_OUTAGE_DEFER_SECONDS) from exc


async def reconcile_payments(ctx: dict[str, Any]) -> dict[str, object]:
    core: PaymentsCore = ctx[CTX_KEY]
    return (await Reconciler(core).run_once()).as_dict()


def functions(config: PaymentsConfig) -> list[Function]:
    process: WorkerCoroutine = process_payment
    return [func(process, name=PROCESS_PAYMENT, timeout=config.job_timeout_seconds, max_tries=config.job_max_tries,
                 keep_result=24 * 3600)]


def cron_jobs(config: PaymentsConfig) -> list[CronJob]:
    """Reconciliation every `reconcile_interval_seconds` (rounded to what a cron schedule can express)."""
    interval = max(1, config.reconcile_interval_seconds)
    reconcile: WorkerCoroutine = reconcile_payments
    if interval < 60:
        schedule: dict[str, Any] = {"second": set(range(0, 60, interval))}
    else:
        schedule = {"minute": set(range(0, 60, max(1, interval // 60))), "second": 0}
    # Its timeout must not exceed the payment job's: arq re-runs a dead worker's job only after the longest
    # function timeout + 10 s, so a long cron timeout would delay every crash recovery.
    return [cron(reconcile, name="reconcile_payments", timeout=config.job_timeout_seconds, unique=True, **schedule)]
