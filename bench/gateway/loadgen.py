"""Load generators: wrk (preferred) or a bounded aiohttp fallback. Both return a LoadResult."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


# Printed (stderr) whenever a benchmark falls back to the Python load generator.
FALLBACK_WARNING = (
    "WARNING: the Python load generator drives the load (wrk not found, or --loadgen python). "
    "It runs on one core beside the subgraphs and saturates before the fastest gateways do: their "
    "req/s, their latencies and every ratio between them then measure the load generator, not the "
    "gateways. Install wrk (`apt-get install wrk`) for figures worth comparing."
)


_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"cannot parse wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> LoadResult:
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+(\S+)", output, re.MULTILINE))
    total = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if not (percentiles and total and rps):
        raise ValueError(f"unexpected wrk output:\n{output}")
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return LoadResult(
        requests_per_second=float(rps.group(1)),
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        requests=int(total.group(1)),
        errors=errors,
    )


def run_wrk(url: str, body: str, connections: int, duration: float, threads: int = 2) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA.format(body=json.dumps(body)))
    try:
        proc = subprocess.run(
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{max(1, round(duration))}s",  # wrk takes whole seconds
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 30,
            check=True,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    return parse_wrk(proc.stdout)


async def _aiohttp_load(url: str, body: str, connections: int, duration: float) -> LoadResult:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration
    payload = body.encode()
    headers = {"content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=connections)

    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    async with session.post(url, data=payload, headers=headers) as response:
                        await response.read()
                        if response.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return LoadResult(len(latencies) / elapsed, pct(0.50), pct(0.99), len(latencies), errors)


def run_python(url: str, body: str, connections: int, duration: float) -> LoadResult:
    return asyncio.run(_aiohttp_load(url, body, connections, duration))


def run_load(url: str, body: str, connections: int, duration: float, use_wrk: bool) -> LoadResult:
    if use_wrk:
        return run_wrk(url, body, connections, duration)
    return run_python(url, body, connections, duration)
