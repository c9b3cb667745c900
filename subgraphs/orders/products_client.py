"""The products service as orders sees it: stock reservation, release, commit and the user's cart.

Calls go to products' own /graphql (not through the gateway): inventory with a service token of scope
`inventory:write`, the cart with the end user's token. Every answer is read for what it says: a
reservation is `Reservation` only when products holds its units (state RESERVED), release and commit
answer whether they happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from subgraphs.kit.errors import BadUserInput, ServiceUnavailable
from subgraphs.kit.service_client import ServiceClient, UpstreamGraphQLError
from subgraphs.orders.domain import RequestedLine

INVENTORY_SCOPE = "inventory:write"
UNAVAILABLE = "the products service is unavailable; please try again"

log = logging.getLogger(__name__)

RESERVE = """
mutation OrdersReserveStock($orderId: ID!, $lines: [StockLineInput!]!, $attempt: Int!) {
  reserveStock(orderId: $orderId, lines: $lines, attempt: $attempt) {
    __typename
    ... on StockReservation {
      orderId state attempt
      lines { sku quantity variantId productId productName unitPrice { amount currency } }
    }
    ... on StockReservationReleased { orderId attempt final }
    ... on InsufficientStock { sku requested available }
    ... on UnknownVariant { sku }
  }
}
"""
RELEASE = """mutation OrdersReleaseStock($orderId: ID!, $attempt: Int) {
  releaseStock(orderId: $orderId, attempt: $attempt) { released state } }"""
COMMIT = "mutation OrdersCommitStock($orderId: ID!) { commitStock(orderId: $orderId) { committed state } }"
CART = "query OrdersCart { me { cart { lines { sku quantity } } } }"
CLEAR_CART = "mutation OrdersClearCart { clearCart { __typename } }"


@dataclass(frozen=True)
class ReservedLine:
    sku: str
    quantity: int
    variant_id: str
    product_id: str
    product_name: str
    unit_price: int
    currency: str


@dataclass(frozen=True)
class Reservation:
    """products holds these units for the order."""

    order_id: str
    lines: list[ReservedLine]


@dataclass(frozen=True)
class NotHeld:
    """products holds nothing for the order: its reservation was released (it holds afresh only for an
    attempt above `attempt`, and never when `final`: the order was cancelled) or committed."""

    order_id: str
    state: str
    attempt: int
    final: bool

    @property
    def resumable(self) -> bool:
        return self.state == "released" and not self.final


@dataclass(frozen=True)
class OutOfStock:
    sku: str
    requested: int
    available: int


@dataclass(frozen=True)
class NoSuchVariant:
    sku: str


ReservationOutcome = Reservation | OutOfStock | NoSuchVariant | NotHeld


class ProductsClient:
    def __init__(self, url: str, *, jwt_secret: str | None, subgraph_secret: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = ServiceClient(url, caller="orders", scopes=(INVENTORY_SCOPE,), jwt_secret=jwt_secret,
                                     subgraph_secret=subgraph_secret, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _execute(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
                       ) -> dict[str, Any]:
        try:
            return await self._client.execute(query, variables, token=token)
        except UpstreamGraphQLError as exc:
            if "BAD_USER_INPUT" in exc.codes:
                raise BadUserInput(f"products refused the request: {exc}") from exc
            log.warning("products answered errors: %s", exc)
            raise ServiceUnavailable(UNAVAILABLE, service="products") from exc
        except ServiceUnavailable as exc:  # unreachable or failing; the URL stays in our logs only
            log.warning("products is unavailable: %s", exc.message)
            raise ServiceUnavailable(UNAVAILABLE, service="products") from exc

    async def reserve(self, order_id: str, lines: list[RequestedLine], attempt: int) -> ReservationOutcome:
        data = await self._execute(RESERVE, {
            "orderId": order_id, "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines],
            "attempt": attempt})
        result = data.get("reserveStock") or {}
        kind = result.get("__typename")
        try:
            if kind == "StockReservation":
                state = str(result["state"]).lower()
                if state != "reserved":
                    return NotHeld(order_id=str(result["orderId"]), state=state, attempt=int(result["attempt"]),
                                   final=state != "released")
                return Reservation(order_id=str(result["orderId"]), lines=[_reserved_line(r) for r in result["lines"]])
            if kind == "StockReservationReleased":
                return NotHeld(order_id=str(result["orderId"]), state="released", attempt=int(result["attempt"]),
                               final=bool(result["final"]))
            if kind == "InsufficientStock":
                return OutOfStock(sku=result["sku"], requested=int(result["requested"]),
                                  available=int(result["available"]))
            if kind == "UnknownVariant":
                return NoSuchVariant(sku=result["sku"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceUnavailable(f"products answered a malformed reservation: {exc}") from exc
        raise ServiceUnavailable(f"products answered an unexpected reservation result {kind!r}")

    async def release(self, order_id: str, attempt: int | None = None) -> bool:
        """Give the units back: for good (the order is cancelled), or with the checkout `attempt` being
        given up, which products ignores when a higher attempt asked for them since. True when the
        reservation is released now."""
        data = await self._execute(RELEASE, {"orderId": order_id, "attempt": attempt})
        return _flag(data, "releaseStock", "released")

    async def commit(self, order_id: str) -> bool:
        """Take the held units out of stock. False when products holds none for the order (then no stock
        was taken)."""
        data = await self._execute(COMMIT, {"orderId": order_id})
        return _flag(data, "commitStock", "committed")

    async def cart_lines(self, user_token: str) -> list[RequestedLine]:
        data = await self._execute(CART, token=user_token)
        cart = ((data.get("me") or {}).get("cart")) or {}
        try:
            return [RequestedLine(sku=str(line["sku"]), quantity=int(line["quantity"]))
                    for line in cart.get("lines") or []]
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceUnavailable(f"products answered a malformed cart: {exc}") from exc

    async def clear_cart(self, user_token: str) -> None:
        await self._execute(CLEAR_CART, token=user_token)


def _flag(data: dict[str, Any], field: str, flag: str) -> bool:
    value = (data.get(field) or {}).get(flag)
    if not isinstance(value, bool):
        raise ServiceUnavailable(f"products answered {field} without {flag}", service="products")
    return value


def _reserved_line(raw: dict[str, Any]) -> ReservedLine:
    price = raw["unitPrice"]
    return ReservedLine(
        sku=str(raw["sku"]),
        quantity=int(raw["quantity"]),
        variant_id=str(raw["variantId"]),
        product_id=str(raw["productId"]),
        product_name=str(raw["productName"]),
        unit_price=int(price["amount"]),
        currency=str(price["currency"]),
    )
