"""The supervised in-process arq worker on a real Redis: any failure of arq's loop restarts it (and /ready
says so meanwhile), and stop() drains in-flight jobs for a grace period, then cancels them cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import strawberry
from arq import func
from arq.connections import ArqRedis, create_pool
from arq.constants import in_progress_key_prefix
from arq.jobs import Job, JobStatus
from arq.worker import Worker
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from subgraphs.kit.app import create_service_app
from subgraphs.kit.liveness import LoopState
from subgraphs.kit.queue import InProcessWorker, redis_settings
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.schema import federation_schema
from subgraphs.kit.settings import Settings
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi, wait_for

QUEUE = "kit-worker-test"


@strawberry.type
class Query:
    @strawberry.field
    def ping(self) -> str:
        return "pong"


async def echo(ctx: dict[str, Any], value: int) -> int:
    return value


async def gated(ctx: dict[str, Any]) -> str:
    """Runs until the test opens the gate."""
    ctx["started"].set()
    await ctx["gate"].wait()
    return "done"


def make_worker(redis_url: str, ctx: dict[str, Any] | None = None) -> InProcessWorker:
    return InProcessWorker(functions=[func(echo, name="echo"), func(gated, name="gated")], queue_name=QUEUE,
                           redis_url=redis_url, ctx=ctx or {}, poll_delay=0.02)


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    client = await create_pool(redis_settings(redis_url))
    yield client
    await client.aclose()


class LoopFault:
    """While `error` is set, arq's `start_jobs` fails the way redis-py fails it when the connection drops
    under a watched key (or with any other error): at its WATCH of the job's in-progress key."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.error: Exception | None = None
        self.raised = 0
        original = Pipeline.watch
        fault = self

        async def watch(pipe: Pipeline, *names: Any) -> Any:
            if fault.error is not None and any(str(name).startswith(in_progress_key_prefix) for name in names):
                fault.raised += 1
                raise fault.error
            return await original(pipe, *names)

        monkeypatch.setattr(Pipeline, "watch", watch)


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopFault]:
    yield LoopFault(monkeypatch)


ERRORS = [
    WatchError("A ConnectionError occurred on while watching one or more keys"),
    RuntimeError("anything else"),
]


@pytest.mark.parametrize("error", ERRORS, ids=["WatchError", "RuntimeError"])
async def test_a_failing_worker_loop_restarts_and_runs_the_jobs_enqueued_afterwards(
    redis_url: str, pool: ArqRedis, fault: LoopFault, error: Exception
) -> None:
    worker = make_worker(redis_url)
    await worker.start()
    try:
        fault.error = error
        during = await pool.enqueue_job("echo", 1, _queue_name=QUEUE)
        await wait_for(lambda: _true(fault.raised >= 2), message="the loop to fail (and be restarted) twice")
        fault.error = None
        after = await pool.enqueue_job("echo", 2, _queue_name=QUEUE)
        assert during is not None and after is not None
        assert await during.result(timeout=15, poll_delay=0.05) == 1
        assert await after.result(timeout=15, poll_delay=0.05) == 2
        assert worker.restarts >= 2
    finally:
        await worker.stop()


async def test_ready_is_503_while_the_worker_is_not_polling_and_200_again_after(
    redis_url: str, mongo: TestMongo, pool: ArqRedis, fault: LoopFault
) -> None:
    runtime = ServiceRuntime(Settings.from_env("kittest", env={"REDIS_URL": redis_url, **mongo.env("kittest")}))
    worker = make_worker(redis_url)

    async def start() -> None:
        await worker.start()
        runtime.watch(worker.health)

    app = create_service_app(runtime, federation_schema(query=Query), on_startup=[start], on_shutdown=[worker.stop])
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base) as client:
        await wait_for(lambda: _ready(client, 200), message="/ready 200 once the worker polls")
        fault.error = ERRORS[0]
        job = await pool.enqueue_job("echo", 3, _queue_name=QUEUE)
        body = await wait_for(lambda: _ready(client, 503), message="/ready 503 while the loop fails")
        assert body["worker:kit-worker-test"] is False and body["redis"] is True
        assert "WatchError" in body["reasons"]["worker:kit-worker-test"]
        fault.error = None
        body = await wait_for(lambda: _ready(client, 200), message="/ready 200 once the loop polls again")
        assert body == {"status": "ready", "mongo": True, "redis": True, "worker:kit-worker-test": True}
        assert job is not None and await job.result(timeout=15, poll_delay=0.05) == 3


async def _ready(client: httpx.AsyncClient, status: int) -> dict[str, Any] | None:
    response = await client.get("/ready")
    return response.json() if response.status_code == status else None  # type: ignore[no-any-return]


async def _true(value: bool) -> bool:
    return value


async def test_stop_lets_an_in_flight_job_finish_and_takes_no_new_one(redis_url: str, pool: ArqRedis) -> None:
    ctx = {"started": asyncio.Event(), "gate": asyncio.Event()}
    worker = make_worker(redis_url, ctx)
    worker.shutdown_grace_seconds = 60
    await worker.start()
    job = await pool.enqueue_job("gated", _queue_name=QUEUE)
    assert job is not None
    await asyncio.wait_for(ctx["started"].wait(), timeout=15)

    stopping = asyncio.create_task(worker.stop())
    await wait_for(lambda: _true(worker.health.state is LoopState.STOPPING), message="stop() to begin")
    later = await pool.enqueue_job("echo", 4, _queue_name=QUEUE)
    assert later is not None
    assert not stopping.done()
    ctx["gate"].set()
    await asyncio.wait_for(stopping, timeout=15)  # returns, raises nothing

    info = await job.result_info()
    assert info is not None and info.success and info.result == "done"
    assert await later.status() is JobStatus.queued  # not taken while draining


async def test_stop_cancels_a_job_still_running_after_the_grace_and_the_other_hooks_run(
    redis_url: str, mongo: TestMongo, pool: ArqRedis
) -> None:
    ctx = {"started": asyncio.Event(), "gate": asyncio.Event()}
    runtime = ServiceRuntime(Settings.from_env("kittest", env={"REDIS_URL": redis_url, **mongo.env("kittest")}))
    worker = make_worker(redis_url, ctx)
    worker.shutdown_grace_seconds = 0.0
    ran: list[str] = []

    async def later_hook() -> None:
        ran.append("later hook")

    # Shutdown hooks run in reverse: the worker stops first, then the later hook.
    app = create_service_app(runtime, federation_schema(query=Query), on_startup=[worker.start],
                             on_shutdown=[later_hook, worker.stop])
    async with serve_asgi(app):
        job = await pool.enqueue_job("gated", _queue_name=QUEUE)
        assert job is not None
        await asyncio.wait_for(ctx["started"].wait(), timeout=15)
    assert ran == ["later hook"]

    # The cancelled job went back on the queue; the next worker runs it.
    job = Job(job.job_id, pool, _queue_name=QUEUE)
    assert await job.status() is JobStatus.queued
    ctx["gate"].set()
    again = make_worker(redis_url, ctx)
    await again.start()
    try:
        assert await job.result(timeout=15, poll_delay=0.05) == "done"
    finally:
        await again.stop()


async def test_a_job_cancelled_while_it_records_its_result_raises_nothing_out_of_shutdown(
    redis_url: str, mongo: TestMongo, pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine a job is often cancelled while arq writes its result (inside `asyncio.shield`),
    and its task then ends with CancelledError: that used to escape `stop()` and skip the later hooks."""
    finishing, release = asyncio.Event(), asyncio.Event()
    original = Worker.finish_job

    async def slow_finish(self: Worker, *args: Any) -> None:
        finishing.set()
        await release.wait()
        await original(self, *args)

    monkeypatch.setattr(Worker, "finish_job", slow_finish)
    runtime = ServiceRuntime(Settings.from_env("kittest", env={"REDIS_URL": redis_url, **mongo.env("kittest")}))
    worker = make_worker(redis_url)
    worker.shutdown_grace_seconds = 0.0
    ran: list[str] = []

    async def later_hook() -> None:
        ran.append("later hook")

    app = create_service_app(runtime, federation_schema(query=Query), on_startup=[worker.start],
                             on_shutdown=[later_hook, worker.stop])
    try:
        async with serve_asgi(app):
            await pool.enqueue_job("echo", 5, _queue_name=QUEUE)
            await asyncio.wait_for(finishing.wait(), timeout=15)
    finally:
        release.set()
    assert ran == ["later hook"]
