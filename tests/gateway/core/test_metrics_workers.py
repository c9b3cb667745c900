"""`gateway serve --workers 2`: the workers share one PROMETHEUS_MULTIPROC_DIR, so whichever answers
`/metrics` reports the requests of both, and the directory the gateway made is removed at exit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway import metrics
from subgraphs.kit.embedded_redis import free_port
from tests.support.servers import wait_for

ROOT = Path(__file__).resolve().parents[3]
SUPERGRAPH = Path(__file__).parent / "fixtures" / "basic.graphql"
REQUESTS = 60


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    shared = tmp_path / "prom"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "GATEWAY_METRICS": "1", "RATE_LIMIT_ENABLED": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--supergraph", str(SUPERGRAPH), "--workers", "2",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", shared
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _requests_total(text: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "gateway_requests_total")


async def test_every_worker_answers_the_sum_of_all_workers(two_workers: tuple[str, Path]) -> None:
    base, shared = two_workers

    async def up() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{base}/health")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_for(up, timeout=30, interval=0.1, message="the gateway's workers")

    async def one(index: int) -> None:  # a fresh connection each, so the kernel spreads them
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{base}/graphql", json={"query": "query Probe { __typename }"})
            assert response.status_code == 200, response.text

    await asyncio.gather(*(one(i) for i in range(REQUESTS)))
    pids = {path.stem.rsplit("_", 1)[-1] for path in shared.glob("counter_*.db")}
    assert len(pids) >= 2, f"only {pids} served; the kernel gave every connection to one worker"

    async def scrape() -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(f"{base}/metrics")).text

    # each worker hands its buffered figures over within gateway.metrics.FLUSH_SECONDS
    text = await wait_for(lambda: _all_counted(scrape), timeout=10, interval=0.2, message="every request counted")
    assert 'operation_name="Probe"' in text
    for _ in range(6):  # whichever worker answers, the sum of both, never more
        assert _requests_total(await scrape()) == REQUESTS


async def _all_counted(scrape: Any) -> str:
    text: str = await scrape()
    total = _requests_total(text)
    assert total <= REQUESTS, total
    return text if total == REQUESTS else ""


def test_the_gateway_removes_the_directory_it_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    with metrics.multiprocess_dir(2):
        made = Path(os.environ[metrics.MULTIPROC_ENV])
        assert made.is_dir()
    assert not made.exists() and metrics.MULTIPROC_ENV not in os.environ
    with metrics.multiprocess_dir(1):
        assert metrics.MULTIPROC_ENV not in os.environ


def test_operation_names_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operation_names", set())
    monkeypatch.setattr(metrics, "MAX_OPERATIONS", 2)
    assert [metrics.operation_label(n) for n in ("A", "B", "C", "A", None)] == ["A", "B", "other", "A", "anonymous"]
