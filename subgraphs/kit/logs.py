"""Structured logging: JSON lines in production, readable lines in development, with the service name,
the request id and the trace id in every line.

uvicorn's loggers are mapped (`uvicorn.error` is named `uvicorn`, its access log is off: the kit's
access middleware writes one line per request), uvicorn's ANSI `color_message` never reaches a line,
and the chatter of idle loops is DEBUG: arq's start/finish lines of cron jobs that did nothing, its
health-check records, and the internal HTTP clients (httpx, httpcore, aiohttp)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from telemetry.logs import configure_root, request_id_var, trace_id_var

__all__ = ["QuietCronFilter", "configure_logging", "quiet_cron_jobs", "request_id_var", "trace_id_var"]


def _idle_value(value: object) -> bool:
    """None, 0, False, empty, or a mapping/sequence of such (a sweep's counters all zero)."""
    if isinstance(value, dict):
        return all(_idle_value(v) for v in value.values())
    if isinstance(value, list | tuple | set):
        return all(_idle_value(v) for v in value)
    return not value


# cron job name -> whether its latest run did nothing (noted by the wrapper quiet_cron_jobs puts around it)
_cron_runs: dict[str, bool] = {}


def quiet_cron_jobs(jobs: Iterable[Any]) -> list[Any]:
    """Copies of arq cron jobs whose start/finish lines log at DEBUG unless the run did work (a result
    other than None, 0, False, empty, or counters all zero). InProcessWorker runs its cron jobs so."""
    return [dataclasses.replace(job, coroutine=_noting(job.name, job.coroutine)) for job in jobs]


def _noting(name: str, coroutine: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    _cron_runs.setdefault(name, True)

    @functools.wraps(coroutine)
    async def run(*args: Any, **kwargs: Any) -> Any:
        _cron_runs[name] = False  # raised: not idle (arq logs the failure at its own level anyway)
        result = await coroutine(*args, **kwargs)
        _cron_runs[name] = _idle_value(result)
        return result

    return run


def _is_cron_ref(ref: object) -> bool:
    """arq names a cron job's run by the cron job's name alone (other jobs: `<job id>:<function>`)."""
    return isinstance(ref, str) and ref in _cron_runs


class QuietCronFilter(logging.Filter):
    """Lowers arq's lines for cron jobs to DEBUG unless the job did work (a truthy result), and its
    health-check records. Attached to the `arq.worker` logger; the record's level is rewritten, so it
    shows only where DEBUG is enabled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not isinstance(record.msg, str):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        quiet = False
        if record.msg.startswith("recording health"):
            quiet = True
        elif len(args) >= 2 and _is_cron_ref(args[1]):
            if "→" in record.msg:  # a cron job starts: whether it does anything shows when it ends
                quiet = True
            elif "←" in record.msg:
                quiet = _cron_runs.get(str(args[1]), False)
        if not quiet:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def configure_logging(service: str, level: str = "INFO", json_lines: bool = False) -> None:
    """Root handler on stderr for `service`; idempotent (a later call replaces the handler)."""
    configure_root(service, level, json_lines)
    arq = logging.getLogger("arq.worker")
    if not any(isinstance(f, QuietCronFilter) for f in arq.filters):
        arq.addFilter(QuietCronFilter())
    logging.getLogger(service).debug("logging configured")
