"""The per-request context of payments: the kit's context plus the payment service."""

from __future__ import annotations

from dataclasses import dataclass

from subgraphs.kit.context import RequestContext
from subgraphs.payments.service import PaymentService


@dataclass
class PaymentsContext(RequestContext):
    service: PaymentService | None = None

    @property
    def payments(self) -> PaymentService:
        if self.service is None:
            raise RuntimeError("the payments service is not started")
        return self.service
