"""The arq worker of the notifications queue.

Standalone: `arq subgraphs.notifications.worker.WorkerSettings` (with MONGODB_URL and REDIS_URL set).
Embedded (no MONGODB_URL): the service runs the same functions in a kit InProcessWorker.
Job context: `deliverer` (a Deliverer) and `store` (a NotificationStore); arq adds `redis`, `job_try`.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any, ClassVar

from arq import Retry, cron, func
from arq.connections import RedisSettings

from subgraphs.kit.queue import HEALTH_CHECK_INTERVAL_SECONDS, redis_settings
from subgraphs.kit.tracing import context_of, running_job
from subgraphs.notifications.delivery import DELIVER_JOB, requeue_stale
from subgraphs.notifications.model import QUEUE_NAME

log = logging.getLogger(__name__)

# Room above NOTIFICATIONS_MAX_ATTEMPTS for re-runs after unexpected errors (a database hiccup):
# delivery attempts are counted in the notification itself, not by arq.
UNEXPECTED_ERROR_RETRIES = 3
UNEXPECTED_ERROR_DELAY_SECONDS = 5.0


async def deliver_notification(ctx: dict[str, Any], notification_id: str, trace: dict[str, str] | None = None) -> str:
    """Continues the trace context stored on the notification. `trace`: only in jobs the previous release
    queued (it passed the context as this keyword); kept so that they still run."""
    try:
        carried = trace or await context_of(ctx["store"].notifications, notification_id)
        with running_job(DELIVER_JOB, carried, int(ctx.get("job_try", 1))):
            return str(await ctx["deliverer"].deliver(notification_id))
    except Retry:
        raise
    except Exception:
        if ctx.get("job_try", 1) >= _max_tries(ctx):
            raise  # the stale-job sweep re-enqueues it later
        log.exception("delivering %s failed unexpectedly; retrying", notification_id)
        raise Retry(defer=timedelta(seconds=UNEXPECTED_ERROR_DELAY_SECONDS)) from None


def _max_tries(ctx: dict[str, Any]) -> int:
    return int(ctx["deliverer"].config.max_attempts) + UNEXPECTED_ERROR_RETRIES


async def sweep_stale(ctx: dict[str, Any]) -> int:
    """Cron: re-enqueue notifications stuck in QUEUED whose job was lost."""
    deliverer = ctx["deliverer"]
    return await requeue_stale(
        ctx["store"], ctx["redis"], timedelta(seconds=deliverer.config.stale_after_seconds)
    )


def functions(max_attempts: int) -> list[Any]:
    return [func(deliver_notification, name=DELIVER_JOB, max_tries=max_attempts + UNEXPECTED_ERROR_RETRIES)]


CRON_JOBS = [cron(sweep_stale, second={7}, run_at_startup=True, unique=True)]


async def _startup(ctx: dict[str, Any]) -> None:
    from subgraphs.notifications.service import DeliveryComponents

    components = DeliveryComponents.from_env()
    await components.start()
    ctx["components"] = components
    ctx["deliverer"] = components.deliverer
    ctx["store"] = components.store


async def _shutdown(ctx: dict[str, Any]) -> None:
    components = ctx.get("components")
    if components is not None:
        await components.stop()


def _max_attempts_from_env() -> int:
    return int(os.environ.get("NOTIFICATIONS_MAX_ATTEMPTS", "5"))


class WorkerSettings:
    """`python -m subgraphs.kit.worker_process subgraphs.notifications.worker.WorkerSettings`"""

    functions: ClassVar[list[Any]] = functions(_max_attempts_from_env())
    cron_jobs: ClassVar[list[Any]] = CRON_JOBS
    queue_name: ClassVar[str] = QUEUE_NAME
    redis_settings: ClassVar[RedisSettings] = redis_settings(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    on_startup = staticmethod(_startup)
    on_shutdown = staticmethod(_shutdown)
    keep_result: ClassVar[int] = 3600
    max_jobs: ClassVar[int] = 20
    # A delivery is one SMTP or webhook call (10 s timeouts); a job of a killed worker is taken up again
    # once this has passed (arq's in-progress mark), not after arq's default of 5 minutes.
    job_timeout: ClassVar[int] = int(os.environ.get("NOTIFICATIONS_JOB_TIMEOUT", "60"))
    health_check_interval: ClassVar[int] = HEALTH_CHECK_INTERVAL_SECONDS  # `arq --check` fails once it stalls
