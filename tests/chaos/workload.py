"""The chaos workload: customers running their order scripts concurrently, retrying as real clients do.

Every retry reuses the idempotency key of the request it repeats. A script's waits (for its payment to
fail or its order to be paid) are bounded, so the workload always ends; what is left unfinished is the
system's to finish, and the liveness check sees whether it did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from subgraphs.payments.domain import payment_id_for
from tests.chaos.client import (
    CANCEL_ORDER,
    FULFILL_ORDER,
    ORDER_STATUS,
    PAYMENT,
    PLACE_ORDER,
    REFUND_PAYMENT,
    RETRY_PAYMENT,
    Anomaly,
    GraphQL,
    Unavailable,
    admin_token,
    customer_token,
)
from tests.chaos.plan import OrderScript, Plan

log = logging.getLogger(__name__)

# Roles of the plan -> (provider, token) of the simulated providers' test methods (docs/payments.md).
PAYMENT_METHODS: dict[str, tuple[str, str]] = {
    "ok": ("CARD", "pm_card_visa"),
    "declined": ("CARD", "pm_card_chargeDeclined"),
    "soft_decline": ("CARD", "pm_card_chargeDeclinedInsufficientFunds"),
    "lost_answer": ("CARD", "pm_card_lostResponse"),
    "slow": ("CARD", "pm_card_slow"),
    "flaky": ("CARD", "pm_card_transient"),
    "no_answer": ("CARD", "pm_card_timeout"),
    "wallet_ok": ("WALLET", "wallet_ok"),
}
RETRY_METHOD = PAYMENT_METHODS["ok"]

MAX_TRIES = 8  # per call, with the same idempotency key
BACKOFF_SECONDS = (0.2, 0.4, 0.8, 1.5, 2.0, 3.0, 3.0, 3.0)

FaultHook = Callable[[int], Awaitable[None]]


@dataclass
class WorkloadReport:
    placed: int = 0
    not_placed: Counter[str] = field(default_factory=Counter)  # why: out of stock, gave up, ...
    actions: Counter[str] = field(default_factory=Counter)
    surprises: list[str] = field(default_factory=list)  # answers a correct system never gives
    order_ids: dict[str, str] = field(default_factory=dict)  # idempotency key -> order id


class Workload:
    def __init__(self, plan: Plan, api: GraphQL, *, wait_seconds: float, on_order_start: FaultHook) -> None:
        self.plan = plan
        self.api = api
        self.wait_seconds = wait_seconds  # the longest a script waits for a payment outcome
        self.on_order_start = on_order_start
        self.report = WorkloadReport()
        self.admin = admin_token()
        self._queue: asyncio.Queue[OrderScript] = asyncio.Queue()

    async def run(self) -> WorkloadReport:
        for script in self.plan.scripts:
            self._queue.put_nowait(script)
        await asyncio.gather(*(self._customer() for _ in range(self.plan.customers)))
        return self.report

    async def _customer(self) -> None:
        while True:
            try:
                script = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await self.on_order_start(script.index)
            try:
                await self._run_script(script)
            except Exception as exc:  # a script never takes the workload down; it is reported
                log.exception("order script %d failed", script.index)
                self.report.surprises.append(f"script {script.index} crashed: {exc!r}")

    async def _call(self, what: str, service: str, token: str, query: str, variables: dict[str, Any]
                    ) -> dict[str, Any] | None:
        """The call, retried with the same arguments while it fails; None when every try failed."""
        for attempt in range(MAX_TRIES):
            try:
                return await self.api.call(service, token, query, variables)
            except (Unavailable, Anomaly):
                self.report.actions[f"{what} retried"] += 1
                await asyncio.sleep(BACKOFF_SECONDS[attempt])
        self.report.actions[f"{what} gave up"] += 1
        return None

    async def _run_script(self, script: OrderScript) -> None:
        token = customer_token(script.customer)
        provider, payment_token = PAYMENT_METHODS[script.payment]
        variables = {"key": script.key, "input": {
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in script.lines],
            "payment": {"provider": provider, "token": payment_token}}}
        data = await self._call("placeOrder", "orders", token, PLACE_ORDER, variables)
        if data is None:
            self.report.not_placed["gave up"] += 1
            return
        result = data["placeOrder"]
        if result["__typename"] != "OrderPlaced":
            self.report.not_placed[result["__typename"]] += 1
            if result["__typename"] in ("IdempotencyKeyReused", "UnknownVariant"):
                self.report.surprises.append(f"order {script.index} ({script.key}): {result}")
            return
        order_id = result["order"]["id"]
        total = int(result["order"]["total"]["amount"])
        self.report.placed += 1
        self.report.order_ids[script.key] = order_id
        if script.resubmit:
            again = await self._call("placeOrder (resubmit)", "orders", token, PLACE_ORDER, variables)
            replay = again["placeOrder"] if again else None
            if replay is not None and (replay["__typename"] != "OrderPlaced" or replay["order"]["id"] != order_id):
                self.report.surprises.append(f"order {script.index}: resubmitting key {script.key} answered {replay}")
        if script.cancel == "now":
            await self._cancel(token, order_id)
        elif script.cancel == "later":
            await asyncio.sleep(0.5 + (script.index % 5) * 0.3)
            await self._cancel(token, order_id)
        if script.retry_payment:
            await self._retry_payment(token, order_id)
        if script.after_paid != "nothing" and await self._wait_paid(order_id):
            await self._after_paid(script, order_id, total)

    async def _cancel(self, token: str, order_id: str) -> None:
        data = await self._call("cancelOrder", "orders", token, CANCEL_ORDER, {"id": order_id})
        if data is not None:
            self.report.actions[f"cancelOrder -> {data['cancelOrder']['__typename']}"] += 1

    async def _retry_payment(self, token: str, order_id: str) -> None:
        payment_id = payment_id_for(order_id)
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            data = await self._call("payment", "payments", self.admin, PAYMENT, {"id": payment_id})
            payment = (data or {}).get("payment")
            if payment and payment["status"] == "FAILED":
                if (payment.get("failure") or {}).get("final"):
                    return
                provider, payment_token = RETRY_METHOD
                retried = await self._call("retryPayment", "payments", token, RETRY_PAYMENT, {
                    "orderId": order_id, "method": {"provider": provider, "token": payment_token}})
                if retried is not None:
                    self.report.actions[f"retryPayment -> {retried['retryPayment']['__typename']}"] += 1
                return
            if payment and payment["status"] not in ("PENDING", "PROCESSING"):
                return
            await asyncio.sleep(0.5)
        self.report.actions["retryPayment: payment never failed in time"] += 1

    async def _wait_paid(self, order_id: str) -> bool:
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            data = await self._call("order", "orders", self.admin, ORDER_STATUS, {"id": order_id})
            status = ((data or {}).get("order") or {}).get("status")
            if status == "PAID":
                return True
            if status in ("CANCELLED", "FULFILLED", "REFUNDED"):
                return False
            await asyncio.sleep(0.5)
        self.report.actions["not paid in time"] += 1
        return False

    async def _after_paid(self, script: OrderScript, order_id: str, total: int) -> None:
        if script.after_paid == "fulfill":
            data = await self._call("fulfillOrder", "orders", self.admin, FULFILL_ORDER, {"id": order_id})
            if data is not None:
                self.report.actions[f"fulfillOrder -> {data['fulfillOrder']['__typename']}"] += 1
            return
        payment_id = payment_id_for(order_id)
        if script.after_paid == "refund_full":
            await self._refund(payment_id, None, f"{script.key}-refund-full")
        elif script.after_paid == "refund_partial":
            await self._refund(payment_id, max(1, total // 3), f"{script.key}-refund-part")
        else:  # two partial refunds racing, then the first one asked again
            part = max(1, total // 3)
            await asyncio.gather(self._refund(payment_id, part, f"{script.key}-refund-a"),
                                 self._refund(payment_id, part, f"{script.key}-refund-b"))
            await self._refund(payment_id, part, f"{script.key}-refund-a")

    async def _refund(self, payment_id: str, amount: int | None, key: str) -> None:
        """Ask again with the same key while the refund is pending (the provider did not confirm it)."""
        for _ in range(4):
            data = await self._call("refundPayment", "payments", self.admin, REFUND_PAYMENT,
                                    {"id": payment_id, "amount": amount, "key": key})
            if data is None:
                return
            kind = data["refundPayment"]["__typename"]
            self.report.actions[f"refundPayment -> {kind}"] += 1
            if kind != "PaymentRefundPending":
                return
            await asyncio.sleep(1.0)
