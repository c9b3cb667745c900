"""A service's arq worker as its own process, supervised like the in-process one.

    python -m subgraphs.kit.worker_process subgraphs.orders.worker.WorkerSettings

arq's own CLI (`arq subgraphs.<name>.worker.WorkerSettings`) runs the same settings, but its process
ends on the first error of the poll loop that arq does not count as its own (a `WatchError` or a
refused connection while Redis restarts), and every queued job then waits for a supervisor to
restart it. This runs the settings' functions and cron jobs in `InProcessWorker`, which restarts the
loop on any failure; the settings' `on_startup`/`on_shutdown` run once, SIGTERM/SIGINT drain the jobs
in flight (`WORKER_SHUTDOWN_GRACE_SECONDS`), a command retries a lost Redis for
`WORKER_REDIS_RIDE_OUT_SECONDS` (120) before the loop restarts, and `arq --check` keeps working (the loop still writes
arq's health-check key).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
from typing import Any

from subgraphs.kit import tracing
from subgraphs.kit.logs import configure_logging
from subgraphs.kit.metrics import serve_worker_metrics
from subgraphs.kit.queue import WORKER_RIDE_OUT_SECONDS, InProcessWorker
from subgraphs.kit.settings import env_flag

log = logging.getLogger(__name__)

# arq options a WorkerSettings class may set that are passed on as they are.
PASSED_OPTIONS = ("job_timeout", "keep_result", "max_jobs", "health_check_interval", "poll_delay")


def load_settings(path: str) -> Any:
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise SystemExit(f"expected module.Class, got {path!r}")
    return getattr(importlib.import_module(module_name), attribute)


def build_worker(settings: Any, ctx: dict[str, Any], redis_url: str) -> InProcessWorker:
    options = {name: getattr(settings, name) for name in PASSED_OPTIONS if hasattr(settings, name)}
    return InProcessWorker(
        functions=list(settings.functions), cron_jobs=list(getattr(settings, "cron_jobs", None) or ()),
        queue_name=settings.queue_name, redis_url=redis_url, ctx=ctx,
        max_tries=getattr(settings, "max_tries", 5),
        shutdown_grace_seconds=float(os.environ.get("WORKER_SHUTDOWN_GRACE_SECONDS", "10")),
        ride_out_seconds=float(os.environ.get("WORKER_REDIS_RIDE_OUT_SECONDS", str(WORKER_RIDE_OUT_SECONDS))),
        options=options,
    )


async def run(settings: Any, redis_url: str) -> None:
    ctx: dict[str, Any] = {}
    on_startup, on_shutdown = getattr(settings, "on_startup", None), getattr(settings, "on_shutdown", None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if on_startup is not None:
        await on_startup(ctx)
    worker = build_worker(settings, ctx, redis_url)
    serve_worker_metrics()  # WORKER_METRICS_PORT: the worker's own /metrics (docs/observability.md)
    try:
        await worker.start()
        log.info("worker for %s started (supervised)", settings.queue_name)
        await stop.wait()
    finally:
        await worker.stop()
        if on_shutdown is not None:
            await on_shutdown(ctx)


def worker_service_name(path: str) -> str:
    """`subgraphs.orders.worker.WorkerSettings` -> `orders-worker` (the name in every log line)."""
    parts = path.split(".")
    return f"{parts[1]}-worker" if len(parts) > 2 and parts[0] == "subgraphs" else parts[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m subgraphs.kit.worker_process")
    parser.add_argument("settings", help="the WorkerSettings class, e.g. subgraphs.orders.worker.WorkerSettings")
    args = parser.parse_args(argv)
    service = worker_service_name(args.settings)
    configure_logging(service, os.environ.get("LOG_LEVEL", "INFO").upper(),
                      env_flag(os.environ.get("LOG_JSON"), default=False))
    tracing.configure(service)
    asyncio.run(run(load_settings(args.settings), os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
