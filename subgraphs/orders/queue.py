"""The orders arq queue: names and the expiry scheduling call."""

from __future__ import annotations

from datetime import datetime

from arq.connections import ArqRedis

ORDERS_QUEUE = "arq:orders"
EXPIRE_ORDER_JOB = "expire_order"


def expire_job_id(order_id: str) -> str:
    """Deterministic, so scheduling the same expiry twice enqueues one job."""
    return f"expire:{order_id}"


async def schedule_expiry(pool: ArqRedis, order_id: str, at: datetime) -> None:
    await pool.enqueue_job(
        EXPIRE_ORDER_JOB, order_id, _job_id=expire_job_id(order_id), _defer_until=at, _queue_name=ORDERS_QUEUE
    )
