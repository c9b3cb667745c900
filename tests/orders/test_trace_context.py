"""The expiry job continues the trace of the request that placed the order: the context is stored on
the order (the job's arguments stay the order id, whatever the release)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from subgraphs.kit.tracing import CONTEXT_FIELD
from subgraphs.orders.queue import EXPIRE_ORDER_JOB
from tests.orders.conftest import ALICE
from tests.orders.helpers import place_order, wait_status
from tests.support.servers import wait_for
from tests.tracing.memory import named, spans_in_memory

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_the_expiry_job_runs_in_the_trace_of_the_checkout(orders_factory: Any) -> None:
    headers = {**ALICE, "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    with spans_in_memory() as exporter:
        async with orders_factory(hold_ttl=0.3) as orders:
            order = await place_order(orders, "expire-traced", ("CAP-L", 1), headers=headers)
            document = await wait_status(orders, order["id"], "CANCELLED", within=15)
            assert document[CONTEXT_FIELD]["traceparent"].split("-")[1] == TRACE_ID

            async def job_span() -> bool:
                return bool(named(exporter, f"job {EXPIRE_ORDER_JOB}", int(TRACE_ID, 16)))

            await wait_for(job_span, message="the expiry job's span in the checkout's trace")


async def test_the_hold_sweep_expires_an_order_in_the_trace_of_its_checkout(orders_factory: Any) -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    headers = {**ALICE, "traceparent": f"00-{trace_id}-b7ad6b7169203331-01"}
    with spans_in_memory() as exporter:
        async with orders_factory(run_worker=False) as orders:
            order = await place_order(orders, "sweep-traced", headers=headers)
            past = datetime.now(UTC) - timedelta(seconds=1)
            await orders.services.store.orders.update_one({"_id": order["id"]}, {"$set": {"hold_expires_at": past}})
            assert await orders.services.sweeps.expire_due_holds() == 1  # a cron run, outside any request
        assert named(exporter, f"job {EXPIRE_ORDER_JOB}", int(trace_id, 16))
