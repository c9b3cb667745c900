"""A payment job re-queued by reconciliation, outside any request, continues the trace of the event that
created the payment: its context is stored on the payment and put into the job's spec (a dict field
that workers of every release accept), never into a new job argument."""

from __future__ import annotations

import redis.asyncio as aioredis
from opentelemetry import trace

from subgraphs.kit.tracing import CONTEXT_FIELD
from subgraphs.payments.components import PROCESS_PAYMENT, PaymentsCore
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import EVERYTHING_STALE, order_created, payment_id_of, running_worker, wait_status
from tests.payments.test_reconciliation import drop_job
from tests.support.servers import wait_for
from tests.tracing.memory import named, spans_in_memory


async def test_a_job_requeued_by_reconciliation_continues_the_payment_trace(
    core: PaymentsCore, service: PaymentService, redis: aioredis.Redis, redis_url: str
) -> None:
    with spans_in_memory() as exporter:
        with trace.get_tracer("test").start_as_current_span("process order.created") as handling:
            event = order_created()
            await service.on_order_created(event)
        trace_id = handling.get_span_context().trace_id
        payment = await core.store.get(payment_id_of(event))
        assert payment is not None
        assert payment[CONTEXT_FIELD]["traceparent"].split("-")[1] == trace.format_trace_id(trace_id)
        await drop_job(redis, core, payment["job_id"])

        assert trace.get_current_span() is trace.INVALID_SPAN  # a cron run: no request around it
        report = await Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE)
        assert report.requeued == [payment["_id"]]
        async with running_worker(core, redis_url):
            await wait_status(core, payment["_id"], "SUCCEEDED")

            async def job_span() -> bool:
                return bool(named(exporter, f"job {PROCESS_PAYMENT}", trace_id))

            await wait_for(job_span, message="the re-queued job's span in the payment's trace")
