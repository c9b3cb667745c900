"""The entities: Payment (owned here), and this subgraph's fields on Order and User."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from subgraphs.kit.errors import Forbidden
from subgraphs.kit.money import Money
from subgraphs.kit.pagination import check_page_size
from subgraphs.kit.representations import entity_id
from subgraphs.kit.representations import money as checked_money
from subgraphs.payments.context import PaymentsContext
from subgraphs.payments.domain import CAPTURED_STATUSES, PaymentStatus, net_captured
from subgraphs.payments.providers.scenarios import describe_method
from subgraphs.payments.schema.types import (
    PaymentAttempt,
    PaymentFailure,
    PaymentProvider,
    Refund,
)
from subgraphs.payments.service import READ_SCOPES, can_read

Info = strawberry.Info[PaymentsContext, None]
Document = dict[str, Any]
MAX_PAGE = 100


def _payments_by_order(info: Info) -> DataLoader[str, list[Document]]:
    async def load(order_ids: list[str]) -> list[list[Document]]:
        found = await info.context.payments.core.store.by_order_ids(list(order_ids))
        return [found[order_id] for order_id in order_ids]

    loader: DataLoader[str, list[Document]] = info.context.loader("payments_by_order", lambda: DataLoader(load_fn=load))
    return loader


def _payment_by_id(info: Info) -> DataLoader[str, Document | None]:
    async def load(payment_ids: list[str]) -> list[Document | None]:
        store = info.context.payments.core.store
        found = {d["_id"]: d async for d in store.collection.find({"_id": {"$in": list(payment_ids)}})}
        return [found.get(payment_id) for payment_id in payment_ids]

    loader: DataLoader[str, Document | None] = info.context.loader("payment_by_id", lambda: DataLoader(load_fn=load))
    return loader


async def _visible_order_payments(info: Info, order_id: str) -> list[Document]:
    viewer = info.context.require_viewer()
    payments = await _payments_by_order(info).load(order_id)
    if any(not can_read(viewer, payment) for payment in payments):
        raise Forbidden("this order's payments belong to another customer")
    return payments


@strawberry.federation.type(keys=["id"], description="The payment of an order (one per order; attempts inside).")
class Payment:
    id: strawberry.ID
    doc: strawberry.Private[Document]

    @classmethod
    def from_document(cls, document: Document) -> Payment:
        return cls(id=strawberry.ID(document["_id"]), doc=document)

    @classmethod
    async def resolve_reference(cls, info: Info, id: object = None, **_: object) -> Payment | None:
        id = entity_id(id, "Payment")
        viewer = info.context.require_viewer()
        document = await _payment_by_id(info).load(str(id))
        if document is None:
            return None
        if not can_read(viewer, document):
            raise Forbidden("this payment belongs to another customer")
        return cls.from_document(document)

    @strawberry.field(description="The order (its fields come from orders; null if orders cannot answer).")
    def order(self) -> Order | None:
        return Order(id=strawberry.ID(self.doc["order_id"]))

    @strawberry.field
    def amount(self) -> Money:
        return Money(amount=self.doc["amount"], currency=self.doc["currency"])

    @strawberry.field
    def status(self) -> PaymentStatus:
        return PaymentStatus(self.doc["status"])

    @strawberry.field
    def provider(self) -> PaymentProvider:
        return PaymentProvider(self.doc["provider"])

    @strawberry.field(description="The provider's id of the charge, once it answered.")
    def provider_reference(self) -> str | None:
        return self.doc.get("provider_reference")

    @strawberry.field(description="The payment method, masked (e.g. •••• 4242).")
    def payment_method(self) -> str:
        return describe_method(self.doc["provider"], self.doc.get("payment_token", ""))

    @strawberry.field(description="The current attempt number (1, then +1 per retryPayment).")
    def attempt(self) -> int:
        return int(self.doc["attempt"])

    @strawberry.field
    def attempts(self) -> list[PaymentAttempt]:
        return [PaymentAttempt.from_record(record) for record in self.doc.get("attempts", [])]

    @strawberry.field
    def failure(self) -> PaymentFailure | None:
        failure = self.doc.get("failure")
        if not failure:
            return None
        return PaymentFailure(reason=failure["reason"], error_code=failure["error_code"], final=failure["final"])

    @strawberry.field
    def captured(self) -> Money:
        return Money(amount=self.doc.get("captured_amount", 0), currency=self.doc["currency"])

    @strawberry.field
    def refunded(self) -> Money:
        return Money(amount=self.doc.get("refunded_amount", 0), currency=self.doc["currency"])

    @strawberry.field(description="What may still be refunded (captured minus refunded and pending refunds).")
    def refundable(self) -> Money:
        return Money(amount=self.doc.get("refundable_amount", 0), currency=self.doc["currency"])

    @strawberry.field
    def refunds(self) -> list[Refund]:
        return [Refund.from_record(record, self.doc["currency"]) for record in self.doc.get("refunds", [])]

    @strawberry.field
    def created_at(self) -> datetime:
        return self.doc["created_at"]

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.doc["updated_at"]


@strawberry.federation.type(keys=["id"], description="An order (owned by orders); payments adds its payments.")
class Order:
    id: strawberry.ID
    # Owned by orders (Money!); only present when the gateway resolves a field that @requires it.
    total: Money = strawberry.federation.field(external=True, default=None)

    @classmethod
    def resolve_reference(cls, id: object = None, total: object = None, **_: object) -> Order:
        """`total` is there when the gateway resolves a field that @requires it (amountDue)."""
        money = None if total is None else Money.from_doc(checked_money(total, "Order", "total"))
        return cls(id=entity_id(id, "Order"), total=money)  # type: ignore[arg-type]

    @strawberry.field(description="The order's payments (FORBIDDEN when they belong to another customer).")
    async def payments(self, info: Info) -> list[Payment] | None:
        return [Payment.from_document(d) for d in await _visible_order_payments(info, str(self.id))]

    @strawberry.federation.field(requires=["total { amount currency }"],
                                 description="The order total minus what was captured, net of refunds.")
    async def amount_due(self, info: Info) -> Money | None:
        if self.total is None:
            return None
        paid = sum(net_captured(p) for p in await _visible_order_payments(info, str(self.id))
                   if p["status"] in CAPTURED_STATUSES and p["currency"] == self.total.currency)
        return Money(amount=max(0, self.total.amount - paid), currency=self.total.currency)


@strawberry.federation.type(keys=["id"], description="A customer (identity from the token); payments adds payments.")
class User:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: object = None, **_: object) -> User:
        return cls(id=entity_id(id, "User"))

    @strawberry.field(description="The customer's payments, newest first (the customer or payments admins only).")
    async def payments(self, info: Info, first: int = 20) -> list[Payment] | None:
        viewer = info.context.require_viewer()
        privileged = viewer.is_service or any(viewer.has_scope(scope) for scope in READ_SCOPES)
        if viewer.user_id != str(self.id) and not privileged:
            raise Forbidden("a customer's payments are private")
        check_page_size(first, maximum=MAX_PAGE, extension_key="field")
        documents = await info.context.payments.core.store.by_user(str(self.id), limit=first)
        return [Payment.from_document(d) for d in documents]
