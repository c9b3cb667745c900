"""The checkout saga up to AWAITING_PAYMENT: idempotency, stock reservation, pricing, the order insert.

1. The order id is derived from (user, idempotency key) before anything else, and a checkout attempt
   with the request's fingerprint is recorded: a retry takes it over (its attempt number goes up) and
   reuses the same reservation; the same key with another request is refused.
2. products reserves every line or none for that order id and attempt, and answers the prices and
   names. Only a held reservation goes on; one released meanwhile is asked again as a higher attempt.
3. The order is inserted as AWAITING_PAYMENT with its order.created event in its outbox (one write).
   Then the attempt is checked: if a stale-checkout sweep claimed or ended it since step 2, the units
   may have been released under the order, so they are held again (or the order is cancelled).
4. Then: the relay is woken, the status is streamed, the hold expiry is scheduled, the cart cleared.
A crash after 2 leaves a checkout attempt whose stock the worker releases once it is stale.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from subgraphs.kit.auth import Viewer
from subgraphs.kit.cards import refuse_card_number
from subgraphs.kit.clock import utcnow
from subgraphs.kit.errors import AppError, BadUserInput, ServiceUnavailable
from subgraphs.kit.events import outbox_entry
from subgraphs.kit.events.types import OrderCreated, OrderLineData
from subgraphs.kit.money import MAX_UNITS_PER_ORDER, check_amount
from subgraphs.kit.tracing import with_context
from subgraphs.orders.domain import (
    OrderStatus,
    PaymentProvider,
    RequestedLine,
    format_order_number,
    merge_lines,
    order_id_for,
    request_fingerprint,
)
from subgraphs.orders.lifecycle import SOURCE, OrderLifecycle, event_id_for
from subgraphs.orders.products_client import NoSuchVariant, NotHeld, OutOfStock, ProductsClient, Reservation
from subgraphs.orders.status_stream import StatusChange, StatusStream
from subgraphs.orders.stock_hold import StockHolder
from subgraphs.orders.store import CheckoutAttempt, Document, OrderStore

log = logging.getLogger(__name__)

ScheduleExpiry = Callable[[str, datetime], Awaitable[None]]

STOCK_LOST_REASON = "the stock reserved for the order was released before it was placed, and none is left"


@dataclass(frozen=True)
class CheckoutRequest:
    idempotency_key: str
    lines: list[RequestedLine] | None  # None: take the user's cart
    payment_provider: PaymentProvider
    payment_token: str  # a provider's payment-method token (pm_card_visa), never a card number

    def __post_init__(self) -> None:
        # The token goes into order.created (outbox, event stream, payments): a card number never may.
        refuse_card_number(self.payment_token, argument="input.payment.token")

    @property
    def from_cart(self) -> bool:
        return self.lines is None

    def fingerprint(self) -> str:
        lines = "cart" if self.lines is None else [[ln.sku, ln.quantity] for ln in merge_lines(self.lines)]
        token_digest = hashlib.sha256(self.payment_token.encode()).hexdigest()
        return request_fingerprint({"lines": lines, "payment": [self.payment_provider.value, token_digest]})


@dataclass(frozen=True)
class Placed:
    order: Document
    replayed: bool


@dataclass(frozen=True)
class EmptyOrder:
    pass


@dataclass(frozen=True)
class KeyReused:
    idempotency_key: str


CheckoutOutcome = Placed | EmptyOrder | KeyReused | OutOfStock | NoSuchVariant


class Checkout:
    def __init__(
        self,
        store: OrderStore,
        products: ProductsClient,
        stream: StatusStream,
        notify_relay: Callable[[], None],
        schedule_expiry: ScheduleExpiry,
        hold_ttl: timedelta,
        holder: StockHolder,
        lifecycle: OrderLifecycle,
    ) -> None:
        self.store = store
        self.products = products
        self.holder = holder
        self.lifecycle = lifecycle
        self.stream = stream
        self.notify_relay = notify_relay
        self.schedule_expiry = schedule_expiry
        self.hold_ttl = hold_ttl

    async def place(self, viewer: Viewer, request: CheckoutRequest) -> CheckoutOutcome:
        order_id = order_id_for(viewer.user_id, request.idempotency_key)
        fingerprint = request.fingerprint()
        existing = await self._replay(order_id, fingerprint, request.idempotency_key)
        if existing is not None:
            return existing
        attempt = await self.store.begin_checkout(order_id, viewer.user_id, fingerprint)
        if attempt.fingerprint != fingerprint:
            return KeyReused(request.idempotency_key)
        try:
            lines = merge_lines(request.lines if request.lines is not None
                                else await self.products.cart_lines(viewer.token))
        except AppError:
            await self._end_unreserved(attempt)
            raise
        if not lines:
            await self._end_unreserved(attempt)
            return EmptyOrder()
        units = sum(ln.quantity for ln in lines)
        if units > MAX_UNITS_PER_ORDER:  # only a cart can hold more than the input rules allow
            await self._end_unreserved(attempt)
            raise BadUserInput(f"an order holds at most {MAX_UNITS_PER_ORDER} units, not {units}",
                               argument="input", maximum=MAX_UNITS_PER_ORDER)

        try:
            outcome, number = await self.holder.hold(order_id, viewer.user_id, fingerprint, lines, attempt.number)
        except BadUserInput:
            await self._end_unreserved(attempt)  # products refused the lines: it reserved nothing
            raise
        # On ServiceUnavailable the reservation's fate is unknown: the attempt stays for a retry of this
        # request, and the stale-checkout sweep releases whatever was held if no retry comes.
        if isinstance(outcome, OutOfStock | NoSuchVariant):
            await self.store.end_checkout(order_id, number)  # nothing is held for the order now
            return outcome
        if isinstance(outcome, NotHeld):
            return await self._not_held(order_id, fingerprint, request.idempotency_key, outcome)
        if not outcome.lines:
            raise ServiceUnavailable("the products service answered an empty reservation", service="products")
        if not request.from_cart and _reserved(outcome) != {(ln.sku, ln.quantity) for ln in lines}:
            # products answered the reservation another request made under this key. (From the cart, it
            # is this very request's, made by an attempt that died: the cart may have changed since.)
            return await self._replay(order_id, fingerprint, request.idempotency_key) or KeyReused(
                request.idempotency_key)
        currencies = {ln.currency for ln in outcome.lines}
        if len(currencies) != 1:
            await self._abandon(order_id, number)
            raise BadUserInput("the order mixes prices in several currencies", currencies=sorted(currencies))
        try:
            check_totals(outcome)
        except BadUserInput:
            await self._abandon(order_id, number)
            raise

        sequence = await self.store.next_order_sequence()
        document = self._new_order(order_id, viewer, request, fingerprint, outcome, sequence)
        if not await self.store.insert_order(document):
            await self.store.end_checkout(order_id, number)
            return await self._replay(order_id, fingerprint, request.idempotency_key) or KeyReused(
                request.idempotency_key)
        log.info("order %s (%s) placed by %s", document["number"], order_id, viewer.user_id)
        intact = await self.store.checkout_intact(order_id, number)  # read after the insert: see _hold_again
        if intact:
            await self.store.end_checkout(order_id, number)
        await self._after_placed(document, viewer, request)
        if not intact:
            await self._hold_again(document)
        stored = await self.store.get(order_id)
        return Placed(order=stored or document, replayed=False)

    async def _end_unreserved(self, attempt: CheckoutAttempt) -> None:
        """End an attempt this call reserved nothing for, if it is the request's first: a retry's attempt
        may stand for units an earlier call reserved (its answer lost), which only the sweep releases."""
        if attempt.number == 1:
            await self.store.end_checkout(attempt.order_id, 1)

    async def _not_held(self, order_id: str, fingerprint: str, key: str, outcome: NotHeld
                        ) -> Placed | KeyReused:
        """products holds nothing for the order and will not for this request: the order exists (it was
        cancelled or paid), or another request holds the key."""
        replayed = await self._replay(order_id, fingerprint, key)
        if replayed is not None:
            return replayed
        if outcome.resumable:
            return KeyReused(key)
        log.error("products answered a %s reservation for order %s, which does not exist", outcome.state, order_id)
        raise ServiceUnavailable("this checkout cannot be resumed; please try again with a new idempotency key",
                                 service="products")

    async def _hold_again(self, order: Document) -> None:
        """The attempt was claimed, ended or taken over between the reservation and the insert, so a sweep
        may have released the units under the new order: hold them again, or cancel the order if they
        are gone. (The sweep claims before it looks for the order, and we look at the attempt after the
        insert: either the sweep saw the order and released nothing, or we see its claim here.)"""
        order_id = order["_id"]
        log.warning("checkout attempt of order %s was swept while placing it: holding its stock again", order_id)
        try:
            outcome = await self.holder.hold_again(order)
        except AppError as exc:  # the commit on payment holds them again (or cancels); expiry releases
            log.warning("could not hold the stock of order %s again yet: %s", order_id, exc.message)
            return
        if not isinstance(outcome, Reservation):
            await self.lifecycle.transition(order_id, OrderStatus.CANCELLED, STOCK_LOST_REASON)

    async def _replay(self, order_id: str, fingerprint: str, key: str) -> Placed | KeyReused | None:
        order = await self.store.get(order_id)
        if order is None:
            return None
        if order.get("idempotency", {}).get("fingerprint") != fingerprint:
            return KeyReused(key)
        return Placed(order=order, replayed=True)

    async def _abandon(self, order_id: str, number: int) -> None:
        try:
            released = await self.products.release(order_id, attempt=number)
        except AppError as exc:  # the stale-checkout sweep releases it later
            log.warning("could not release the stock of abandoned checkout %s: %s", order_id, exc.message)
            return
        if released:
            await self.store.end_checkout(order_id, number)

    def _new_order(self, order_id: str, viewer: Viewer, request: CheckoutRequest, fingerprint: str,
                   reservation: Reservation, sequence: int) -> Document:
        now = utcnow()
        number = format_order_number(sequence)
        reserved = sorted(reservation.lines, key=lambda ln: ln.sku)
        currency = reserved[0].currency
        lines = [
            {"variant_id": ln.variant_id, "sku": ln.sku, "product_id": ln.product_id, "product_name": ln.product_name,
             "unit_price": ln.unit_price, "quantity": ln.quantity, "line_total": ln.unit_price * ln.quantity}
            for ln in reserved
        ]
        subtotal = sum(ln.unit_price * ln.quantity for ln in reserved)
        total = subtotal  # no shipping, tax or discounts in this domain yet
        created = OrderCreated(
            order_id=order_id, order_number=number, user_id=viewer.user_id, total_amount=total, currency=currency,
            lines=[dataclasses.asdict(OrderLineData(
                variant_id=ln.variant_id, sku=ln.sku, product_id=ln.product_id, product_name=ln.product_name,
                quantity=ln.quantity, unit_price=ln.unit_price, currency=currency)) for ln in reserved],
            payment_provider=request.payment_provider.value, payment_token=request.payment_token,
            customer_email=viewer.email,
        ).envelope(source=SOURCE, subject=f"order:{order_id}", event_id=event_id_for(order_id, 1))
        return with_context({
            "_id": order_id,
            "seq": sequence,
            "number": number,
            "user_id": viewer.user_id,
            "customer_email": viewer.email,
            "idempotency": {"key": request.idempotency_key, "fingerprint": fingerprint},
            "lines": lines,
            "currency": currency,
            "subtotal": subtotal,
            "total": total,
            "payment": {"provider": request.payment_provider.value},
            "status": OrderStatus.AWAITING_PAYMENT.value,
            "version": 1,
            "timeline": [{"version": 1, "at": now, "from": None, "to": OrderStatus.AWAITING_PAYMENT.value,
                          "reason": "order placed"}],
            "stock": {"state": "reserved", "pending": None},
            "hold_expires_at": now + self.hold_ttl,
            "outbox": [outbox_entry(created)],
            "created_at": now,
            "updated_at": now,
        })

    async def _after_placed(self, order: Document, viewer: Viewer, request: CheckoutRequest) -> None:
        self.notify_relay()
        await self.stream.append(StatusChange.from_timeline(order["_id"], order["timeline"][0]))
        try:
            await self.schedule_expiry(order["_id"], order["hold_expires_at"])
        except Exception as exc:  # the periodic hold sweep still expires it
            log.warning("could not schedule the expiry of order %s: %s", order["_id"], exc)
        if request.from_cart:
            try:
                await self.products.clear_cart(viewer.token)
            except AppError as exc:
                log.warning("order %s placed but its cart was not cleared: %s", order["_id"], exc.message)


def check_totals(reservation: Reservation) -> None:
    """BAD_USER_INPUT when a line total or the order total would not fit `MinorUnits`. products bounds its
    prices so that this cannot happen; checked anyway, so that no order is stored that cannot be answered."""
    for line in reservation.lines:
        check_amount(line.unit_price * line.quantity, f"the line total of {line.sku}", sku=line.sku)
    check_amount(sum(line.unit_price * line.quantity for line in reservation.lines), "the order total")


def _reserved(reservation: Reservation) -> set[tuple[str, int]]:
    return {(line.sku, line.quantity) for line in reservation.lines}
