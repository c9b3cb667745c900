"""The chaos customers' and admins' GraphQL calls, straight to each service's own /graphql.

A call that fails for a reason worth retrying (connection refused or dropped, a timeout, HTTP 5xx, a
SERVICE_UNAVAILABLE error) raises `Unavailable`; callers retry with the same idempotency key. Anything
else unexpected (a GraphQL error of another kind, an HTTP 500) is counted as a client anomaly: the
services promise typed results and never a 500.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from authn.internal import InternalSigner
from subgraphs.kit.auth import issue_token
from subgraphs.kit.settings import DEV_JWT_SECRET

ADMIN_SCOPES = ("orders:admin", "payments:admin", "catalog:write")

PLACE_ORDER = """
mutation ChaosPlace($input: PlaceOrderInput!, $key: String!) {
  placeOrder(input: $input, idempotencyKey: $key) {
    __typename
    ... on OrderPlaced { replayed order { id status total { amount currency } } }
    ... on InsufficientStock { sku requested available }
    ... on UnknownVariant { sku }
    ... on IdempotencyKeyReused { idempotencyKey }
  }
}"""
CANCEL_ORDER = """
mutation ChaosCancel($id: ID!) {
  cancelOrder(id: $id, reason: "chaos customer changed their mind") {
    __typename
    ... on OrderTransitioned { order { status } }
    ... on InvalidStatusTransition { from to }
  }
}"""
FULFILL_ORDER = """
mutation ChaosFulfill($id: ID!) {
  fulfillOrder(id: $id) {
    __typename
    ... on OrderTransitioned { order { status } }
    ... on InvalidStatusTransition { from to }
  }
}"""
ORDER_STATUS = "query ChaosOrder($id: ID!) { order(id: $id) { status total { amount currency } } }"
PAYMENT = """
query ChaosPayment($id: ID!) {
  payment(id: $id) { status attempt failure { final errorCode } refundable { amount } }
}"""
RETRY_PAYMENT = """
mutation ChaosRetry($orderId: ID!, $method: PaymentMethodInput) {
  retryPayment(orderId: $orderId, paymentMethod: $method) {
    __typename
    ... on PaymentRetryScheduled { attempt }
    ... on PaymentNotRetryable { reason }
  }
}"""
REFUND_PAYMENT = """
mutation ChaosRefund($id: ID!, $amount: MinorUnits, $key: String) {
  refundPayment(paymentId: $id, amount: $amount, reason: "chaos refund", idempotencyKey: $key) {
    __typename
    ... on PaymentRefundSucceeded { refund { id status } }
    ... on PaymentRefundPending { refund { id status } }
    ... on PaymentRefundFailed { errorCode }
    ... on RefundExceedsCaptured { message }
    ... on PaymentNotRefundable { reason }
  }
}"""
CREATE_PRODUCT = """
mutation ChaosCreate($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on ProductSuccess { product { id } }
    ... on ValidationError { message fieldErrors { field message } }
  }
}"""


class Unavailable(Exception):
    """Worth retrying: the service did not answer, or said it is unavailable."""


class Anomaly(Exception):
    """The service answered in a way it promises never to (an HTTP 500, an untyped error)."""


def customer_token(customer: str, secret: str = DEV_JWT_SECRET) -> str:
    return issue_token(customer, (), secret, ttl_seconds=6 * 3600, email=f"{customer}@chaos.example")


def admin_token(secret: str = DEV_JWT_SECRET) -> str:
    return issue_token("chaos-admin", ADMIN_SCOPES, secret, ttl_seconds=6 * 3600)


class GraphQL:
    def __init__(self, urls: dict[str, str], request_timeout: float = 20.0, subgraph_secret: str | None = None) -> None:
        self.urls = urls  # service name -> its /graphql
        # the stack's subgraphs answer only signed callers (authn.internal); the workload calls them directly
        self._signer = InternalSigner(subgraph_secret, "chaos") if subgraph_secret else None
        self.anomalies: Counter[str] = Counter()
        self.unavailable: Counter[str] = Counter()
        self._http = httpx.AsyncClient(timeout=request_timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, service: str, token: str, query: str, variables: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        try:
            response = await self._http.post(self.urls[service], json={"query": query, "variables": variables or {}},
                                             headers={"Authorization": f"Bearer {token}",
                                                      **(self._signer.headers() if self._signer else {})})
        except httpx.HTTPError as exc:
            self.unavailable[f"{service}: {exc.__class__.__name__}"] += 1
            raise Unavailable(f"{service}: {exc.__class__.__name__}") from exc
        if response.status_code >= 500:
            if response.status_code == 500:
                self.anomalies[f"{service}: HTTP 500"] += 1
            self.unavailable[f"{service}: HTTP {response.status_code}"] += 1
            raise Unavailable(f"{service}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            self.anomalies[f"{service}: a body that is not JSON"] += 1
            raise Unavailable(f"{service}: not JSON") from None
        errors = body.get("errors") or []
        if errors:
            codes = {str((e.get("extensions") or {}).get("code")) for e in errors}
            if codes <= {"SERVICE_UNAVAILABLE"}:
                self.unavailable[f"{service}: SERVICE_UNAVAILABLE"] += 1
                raise Unavailable(f"{service}: {errors[0].get('message')}")
            self.anomalies[f"{service}: {sorted(codes)} {str(errors[0].get('message'))[:80]}"] += 1
            raise Anomaly(f"{service}: {errors}")
        data = body.get("data")
        if not isinstance(data, dict):
            self.anomalies[f"{service}: no data"] += 1
            raise Anomaly(f"{service}: no data")
        return data
