"""A standalone worker process rides out a Redis restart: its loop restarts, the process stays up,
and a job queued after the restart runs (arq's own CLI exits there)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from arq import create_pool

from subgraphs.kit.embedded_redis import EmbeddedRedis, free_port
from subgraphs.kit.queue import redis_settings
from tests.support.servers import wait_for

ROOT = Path(__file__).resolve().parents[2]


async def test_the_worker_process_survives_a_redis_restart_and_runs_later_jobs(tmp_path: Path) -> None:
    server = EmbeddedRedis(free_port()).start()
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(  # noqa: ASYNC220 (started once, not awaited on)
        [sys.executable, "-m", "subgraphs.kit.worker_process", "tests.kit.sample_worker.WorkerSettings"],
        cwd=ROOT, env={**os.environ, "REDIS_URL": server.url, "WORKER_SHUTDOWN_GRACE_SECONDS": "2",
             # a command caught mid-flight retries this long before the loop restarts (else 120 s)
             "WORKER_REDIS_RIDE_OUT_SECONDS": "2"},
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        pool = await create_pool(redis_settings(server.url, ride_out_seconds=30))
        try:
            await pool.enqueue_job("mark", "before", _queue_name="sample-worker-test")

            async def marked(key: str) -> bool:
                return (await pool.get(key) or b"").startswith(b"done:")

            await wait_for(lambda: marked("before"), timeout=30, message="the job before the restart")
            server.stop()

            async def loop_failed() -> bool:  # the outage reached the worker (or ended it)
                return worker.poll() is not None or "restarting in" in log.read_text()

            await wait_for(loop_failed, timeout=60, message="the worker to notice the outage")
            server.start()
            await pool.enqueue_job("mark", "after", _queue_name="sample-worker-test")
            await wait_for(lambda: marked("after"), timeout=60, message="the job queued after the restart")
            assert worker.poll() is None, "the worker process exited"
            assert await pool.get("after") == f"done:{worker.pid}".encode()
        finally:
            await pool.aclose()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        server.stop()
