"""`arq subgraphs.payments.worker.WorkerSettings`: the payments queue worker as its own process.

Its on_startup builds its own ServiceRuntime (Mongo + Redis from the environment), the providers and
an outbox relay (the events its jobs write are published from here too). It needs a shared database:
with no MONGODB_URL the worker runs inside the service process instead (see app.py).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from subgraphs.kit.logs import configure_logging
from subgraphs.kit.queue import HEALTH_CHECK_INTERVAL_SECONDS, redis_settings
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.jobs import CTX_KEY, cron_jobs, functions

log = logging.getLogger(__name__)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


async def startup(ctx: dict[str, Any]) -> None:
    settings = Settings.from_env("payments", env={**os.environ, "REDIS_URL": _redis_url()})
    configure_logging("payments-worker", settings.log_level, settings.log_json)
    runtime = ServiceRuntime(settings)
    await runtime.start()
    core = await PaymentsCore.open(runtime.redis, runtime.db, _redis_url(), PaymentsConfig.from_env())
    await core.start_relay()
    ctx["runtime"] = runtime
    ctx[CTX_KEY] = core


async def shutdown(ctx: dict[str, Any]) -> None:
    core: PaymentsCore | None = ctx.get(CTX_KEY)
    if core is not None:
        try:
            await core.relay.relay_once()  # publish what the last jobs wrote (else the next relay does)
        except Exception:
            log.exception("could not publish the outbox at shutdown")
        await core.close()
    runtime: ServiceRuntime | None = ctx.get("runtime")
    if runtime is not None:
        await runtime.stop()


_config = PaymentsConfig.from_env()


class WorkerSettings:
    functions = functions(_config)
    cron_jobs = cron_jobs(_config)
    queue_name = _config.queue_name
    redis_settings = redis_settings(_redis_url())
    on_startup = startup
    on_shutdown = shutdown
    max_tries = _config.job_max_tries
    job_timeout = _config.job_timeout_seconds
    keep_result = 24 * 3600
    poll_delay = float(os.environ.get("PAYMENTS_POLL_DELAY", "0.1"))
    max_jobs = int(os.environ.get("PAYMENTS_MAX_JOBS", "20"))
    health_check_interval = HEALTH_CHECK_INTERVAL_SECONDS  # `arq --check` fails once the loop stalls
