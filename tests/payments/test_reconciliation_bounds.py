"""A reconciliation pass is bounded even when the provider never answers a lookup."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from subgraphs.payments.components import PaymentsCore
from subgraphs.payments.config import PaymentsConfig
from subgraphs.payments.providers.faults import FaultPlan
from subgraphs.payments.reconciliation import Reconciler
from subgraphs.payments.service import PaymentService
from tests.payments.conftest import EVERYTHING_STALE, FAST, order_created, payment_id_of

EVERY_ANSWER_LOST = FaultPlan(seed=3, lose_answer=1.0)


@pytest.fixture
def config() -> PaymentsConfig:
    return replace(FAST, provider_faults=EVERY_ANSWER_LOST)


async def test_an_unanswered_lookup_does_not_hold_the_pass(core: PaymentsCore, service: PaymentService) -> None:
    """Found as a hung test on a busy machine: the stuck-payment repair's lookup met a lost answer, and
    the simulated provider holds a lost answer for an hour. Outside a job's timeout (a test, or any
    direct caller) the pass waited for it."""
    event = order_created(amount=2500)
    await service.on_order_created(event)  # queued; no worker runs, so it stays PENDING
    deadline = 20 * core.config.provider_timeout_seconds
    report = await asyncio.wait_for(Reconciler(core).run_once(stale_after_seconds=EVERYTHING_STALE), deadline)
    assert report.examined >= 1 and report.settled_from_ledger == []
    payment = await core.store.get(payment_id_of(event))
    assert payment is not None and payment["status"] == "PENDING"  # left for the next round, not failed
