"""Delivery jobs continue the trace of the notification they deliver, whoever queued them: the context
is stored on the notification, never added to the job's arguments (a worker of the previous release
would fail a job with an argument it does not know)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from arq.jobs import Job
from opentelemetry import trace

from subgraphs.kit.tracing import CONTEXT_FIELD
from subgraphs.notifications.delivery import DELIVER_JOB, requeue_stale
from subgraphs.notifications.model import QUEUE_NAME
from tests.notifications.support import order_created, running
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for
from tests.tracing.memory import named, spans_in_memory

JOB_SPAN = f"job {DELIVER_JOB}"


async def test_a_delivery_job_and_its_sweep_requeue_continue_the_event_trace(
        redis_url: str, mongo: TestMongo, tmp_path: Path) -> None:
    with spans_in_memory() as exporter:
        async with running(redis_url, mongo, tmp_path) as svc:
            with trace.get_tracer("test").start_as_current_span("placeOrder") as request:
                event = await svc.publish(order_created())
            trace_id = request.get_span_context().trace_id
            (document,) = await svc.wait_settled(event, 1)
            assert document[CONTEXT_FIELD]["traceparent"].split("-")[1] == trace.format_trace_id(trace_id)

            job = await wait_for(Job(document["job_id"], svc.service.queue, _queue_name=QUEUE_NAME).result_info,
                                 message="the delivery job's kept result")
            assert (job.args, job.kwargs) == ((document["_id"],), {})  # what every release's worker accepts

            async def job_spans(count: int) -> bool:
                return len(named(exporter, JOB_SPAN, trace_id)) == count

            await wait_for(lambda: job_spans(1), message="the delivery job's span in the event's trace")

            # A job lost and queued again by the stale sweep, outside any request, continues the same trace.
            lost = {**document, "_id": "ntf_lost", "job_id": "notify:lost:EMAIL:u1", "status": "QUEUED",
                    "attempts": [], "outbox": [], "sent_at": None}
            await svc.store.notifications.insert_one(lost)
            assert trace.get_current_span() is trace.INVALID_SPAN
            assert await requeue_stale(svc.store, svc.service.queue, timedelta(0)) == 1
            await wait_for(lambda: job_spans(2), message="the re-queued job's span in the original trace")


async def test_a_job_queued_by_the_previous_release_with_a_trace_keyword_still_runs_in_its_trace(
        redis_url: str, mongo: TestMongo, tmp_path: Path) -> None:
    traceparent = "00-867c0f2b5a3c4d9e8f1a2b3c4d5e6f70-1a2b3c4d5e6f7081-01"
    with spans_in_memory() as exporter:
        async with running(redis_url, mongo, tmp_path) as svc:
            event = await svc.publish(order_created(order_id="o-old"))
            (document,) = await svc.wait_settled(event, 1)
            old = {**document, "_id": "ntf_old", "job_id": "notify:old:EMAIL:u1", "status": "QUEUED",
                   "attempts": [], "outbox": [], "sent_at": None}
            old.pop(CONTEXT_FIELD, None)  # written before documents carried it
            await svc.store.notifications.insert_one(old)
            await svc.service.queue.enqueue_job(DELIVER_JOB, "ntf_old", _job_id=old["job_id"], _queue_name=QUEUE_NAME,
                                                trace={"traceparent": traceparent})

            async def sent() -> bool:
                found = await svc.store.get("ntf_old")
                return found is not None and found["status"] == "SENT"

            await wait_for(sent, message="the old job to deliver its notification")
            trace_id = int(traceparent.split("-")[1], 16)

            async def job_span() -> bool:
                return bool(named(exporter, JOB_SPAN, trace_id))

            await wait_for(job_span, message="the old job's span in the trace its keyword named")
