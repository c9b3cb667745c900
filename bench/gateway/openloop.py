"""The open-loop (fixed-rate, wrk2-style) load generator: bench/openloop/openloop.c, compiled on demand.

wrk is closed-loop: a connection sends its next request only once the previous response arrived, so at
saturation its p99 just follows throughput, and a server stall hides the requests that would have been sent
meanwhile (coordinated omission). openloop sends request i at t0 + i/rate whatever the server does (a
request that finds no idle connection waits in a FIFO queue for one) and measures each latency from the
request's INTENDED time; the service time, from the actual write, is reported beside it.

    binary = build(Path("var/bench"))           # None without a C compiler
    result = run_open_loop(binary, url, body, rate=2000, connections=50, duration=5)
    result.p99_ms, result.errors, result.max_send_lag_ms

Percentiles are None when no response completed. `send_lag_p99_ms` and `max_send_lag_ms` are the generator's
own lateness (intended -> write) over the requests that did not queue (a stalled host shows up there);
`max_queue_wait_ms` is the same over the queued ones. `cpu_s` is the generator's own CPU time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parents[1] / "openloop" / "openloop.c"
CFLAGS = ("-O2", "-Wall", "-Wextra", "-std=gnu11")
BINARY_NAME = "openloop"
# Beyond warm-up + duration + the wait for the last responses: connecting, start-up and the report.
_SLACK_S = 30.0


def compiler() -> str | None:
    """The C compiler on PATH (cc, else gcc), or None."""
    for name in ("cc", "gcc"):
        path = shutil.which(name)
        if path is not None:
            return path
    return None


def build(target_dir: Path) -> Path | None:
    """target_dir/openloop, compiled from SOURCE unless it is already newer than SOURCE.

    Returns None when it has to be compiled and there is no C compiler; raises RuntimeError with the
    compiler's output when compiling fails.
    """
    binary = target_dir / BINARY_NAME
    if binary.exists() and binary.stat().st_mtime >= SOURCE.stat().st_mtime:
        return binary
    cc = compiler()
    if cc is None:
        return None
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target_dir / f".{BINARY_NAME}.{os.getpid()}.partial"  # renamed into place: never half-written
    proc = subprocess.run(
        [cc, *CFLAGS, "-o", str(partial), str(SOURCE), "-lm"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"compiling {SOURCE} failed ({cc}, exit {proc.returncode}):\n{proc.stderr}")
    partial.replace(binary)
    return binary


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class OpenLoopResult:
    rate: float
    duration_s: float
    scheduled: int  # measured requests whose intended time came
    sent: int  # of which written to a connection
    completed: int  # of which answered completely (any status)
    warmup_sent: int
    achieved_rps: float
    errors: int  # connect + read + timeout + status
    error_kinds: dict[str, int]
    queued: int  # measured requests that waited for an idle connection
    max_queue: int
    p50_ms: float | None  # latency: response complete - intended time
    p90_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    max_ms: float | None
    service_p50_ms: float | None  # service time: response complete - actual write
    service_p99_ms: float | None
    send_lag_p99_ms: float | None  # the generator's lateness (intended -> write), requests that did not queue
    max_send_lag_ms: float
    max_queue_wait_ms: float  # the same for the requests that queued: their wait for a connection
    cpu_s: float  # the generator's own CPU time (user + system)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OpenLoopResult:
        kinds = {str(kind): int(count) for kind, count in data["errors"].items()}
        latency, service = data["latency_ms"], data["service_ms"]
        return cls(
            rate=float(data["rate"]),
            duration_s=float(data["duration_s"]),
            scheduled=int(data["scheduled"]),
            sent=int(data["sent"]),
            completed=int(data["completed"]),
            warmup_sent=int(data["warmup_sent"]),
            achieved_rps=float(data["achieved_rps"]),
            errors=sum(kinds.values()),
            error_kinds=kinds,
            queued=int(data["queued"]),
            max_queue=int(data["max_queue"]),
            p50_ms=_optional_float(latency["p50"]),
            p90_ms=_optional_float(latency["p90"]),
            p99_ms=_optional_float(latency["p99"]),
            p999_ms=_optional_float(latency["p999"]),
            max_ms=_optional_float(latency["max"]),
            service_p50_ms=_optional_float(service["p50"]),
            service_p99_ms=_optional_float(service["p99"]),
            send_lag_p99_ms=_optional_float(data["send_lag_p99_ms"]),
            max_send_lag_ms=float(data["max_send_lag_ms"]),
            max_queue_wait_ms=float(data["max_queue_wait_ms"]),
            cpu_s=float(data["cpu_s"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def command(
    binary: Path,
    url: str,
    body_file: Path,
    rate: float,
    connections: int,
    duration: float,
    warmup: float,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> list[str]:
    args = [
        str(binary), "--url", url, "--body-file", str(body_file), "--rate", repr(float(rate)),
        "--connections", str(connections), "--duration", repr(float(duration)), "--warmup", repr(float(warmup)),
        "--timeout", repr(float(timeout)),
    ]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    return args


def run_open_loop(
    binary: Path,
    url: str,
    body: str,
    rate: float,
    connections: int,
    duration: float,
    warmup: float = 1.0,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> OpenLoopResult:
    """POST `body` to `url` at `rate` requests/s over `connections` keep-alive connections: `warmup` seconds
    unrecorded, then `duration` seconds measured, then up to `timeout` seconds for the last responses."""
    with tempfile.TemporaryDirectory(prefix="openloop-") as tmp:
        body_file = Path(tmp) / "body"
        body_file.write_text(body, encoding="utf-8")
        args = command(binary, url, body_file, rate, connections, duration, warmup, headers, timeout)
        proc = subprocess.run(
            args, capture_output=True, text=True, check=False, timeout=warmup + duration + 2 * timeout + _SLACK_S
        )
    if proc.returncode != 0:
        raise RuntimeError(f"openloop failed (exit {proc.returncode}):\n{proc.stderr}")
    return OpenLoopResult.from_json(json.loads(proc.stdout))
