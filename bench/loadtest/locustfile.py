"""The order-spike workload for Locust: catalog browsers and buyers through the gateway.

Run by `python -m bench.loadtest` (`make loadtest`) as `locust -f bench/loadtest/locustfile.py --headless`,
with the run's settings in LOADTEST_* variables, the catalog to pick from in LOADTEST_CATALOG (a JSON
file the orchestrator wrote) and every request appended to LOADTEST_REQUEST_LOG (CSV).

Browsers (a fixed number) read the catalog: listings, searches, products by id, next pages. Buyers add
a SKU to a fresh user's cart, read the cart and place the order from it with one of the simulated
provider's test methods (docs/payments.md). `OrderSpike` (a LoadTestShape) keeps the browsers and
raises the buyers `multiplier`-fold for the spike: the checkout rate, not the browsing, spikes.
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

from locust import FastHttpUser, LoadTestShape, events, task
from locust.user.wait_time import constant_pacing

from bench.loadtest.settings import BROWSE_PACE, CHECKOUT_PACE, LoadSettings
from subgraphs.kit.auth import issue_token
from subgraphs.kit.settings import DEV_JWT_SECRET

SETTINGS = LoadSettings.from_env()
CATALOG: dict[str, Any] = json.loads(Path(os.environ["LOADTEST_CATALOG"]).read_text()) if os.environ.get(
    "LOADTEST_CATALOG") else {"product_ids": [], "skus": [], "hot_skus": [], "words": [], "categories": []}
JWT_SECRET = os.environ.get("JWT_SECRET") or DEV_JWT_SECRET
RNG = random.Random(SETTINGS.seed)

# The simulated provider's test methods and how often buyers use them: most succeed, some are declined
# (the order is cancelled and its stock released), some fail transiently first (retried with backoff).
PAYMENT_MIX: tuple[tuple[str, float], ...] = (
    ("pm_card_visa", 0.80), ("pm_card_mastercard", 0.08), ("pm_card_chargeDeclined", 0.06),
    ("pm_card_transient", 0.06),
)

LISTING = """query Listing($first: Int!, $after: String, $filter: ProductFilter, $sort: ProductSort) {
  products(first: $first, after: $after, filter: $filter, sortBy: $sort) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name category variants { sku price { amount currency } stock { available } } } }
  }
}"""
PRODUCT = """query Product($id: ID!) {
  product(id: $id) { id name description category variants { sku options { name value } price { amount currency }
    stock { available } } }
}"""
ADD_TO_CART = """mutation Add($sku: String!, $quantity: Int!) {
  addToCart(sku: $sku, quantity: $quantity) {
    __typename ... on Cart { totalQuantity } ... on InsufficientStock { sku requested available }
  }
}"""
CART = "query Cart { me { cart { totalQuantity subtotal { amount currency } lines { sku quantity } } } }"
PLACE_ORDER = """mutation Place($input: PlaceOrderInput!, $key: String!) {
  placeOrder(input: $input, idempotencyKey: $key) {
    __typename ... on OrderPlaced { order { id status } } ... on InsufficientStock { sku requested available }
  }
}"""
SORTS = ("NEWEST", "PRICE_ASC", "PRICE_DESC", "NAME")

_log_file = None
_log: Any = None


@events.init.add_listener
def _open_log(**_: Any) -> None:
    global _log_file, _log
    path = os.environ.get("LOADTEST_REQUEST_LOG")
    if path:
        _log_file = open(path, "a", newline="")  # noqa: SIM115 (closed on quitting)
        _log = csv.writer(_log_file)


@events.request.add_listener
def _record(name: str, response_time: float, context: dict[str, Any], exception: Any = None, **_: Any) -> None:
    if _log is None:
        return
    _log.writerow([f"{time.time():.3f}", name, f"{response_time:.1f}", context.get("status", 0),
                   context.get("code", ""), context.get("outcome", ""), "" if exception is None else "1"])


@events.quitting.add_listener
def _close_log(**_: Any) -> None:
    if _log_file is not None:
        _log_file.close()


class GraphQLUser(FastHttpUser):
    abstract = True
    connection_timeout = 10.0
    network_timeout = 30.0

    def graphql(self, name: str, query: str, variables: dict[str, Any], token: str | None = None
                ) -> dict[str, Any] | None:
        """POST to /graphql; a non-200, a GraphQL error or no data is a failure recorded with its code."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with self.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers,
                              name=name, catch_response=True) as response:
            meta = response.request_meta["context"]
            meta["status"] = response.status_code
            try:
                body = response.json()
            except Exception:
                body = None
            errors = (body or {}).get("errors") if isinstance(body, dict) else None
            if errors:
                codes = sorted({str((e.get("extensions") or {}).get("code") or "NO_CODE") for e in errors})
                meta["code"] = "+".join(codes)
            if response.status_code != 200 or errors or not isinstance(body, dict) or body.get("data") is None:
                reason = f"HTTP {response.status_code}" if response.status_code else f"no response ({response.error})"
                response.failure(f"{reason} {meta.get('code', '')}".strip())
                return None
            data: dict[str, Any] = body["data"]
            root = next(iter(data.values()), None)
            if isinstance(root, dict) and "__typename" in root:
                meta["outcome"] = root["__typename"]
            return data


class Browser(GraphQLUser):
    """Catalog reads: 90% of the requests at the base rate."""

    fixed_count = SETTINGS.browsers
    wait_time = constant_pacing(BROWSE_PACE)

    def on_start(self) -> None:
        """One of every read first: Locust picks tasks with the unseeded global random, so a short run
        could otherwise skip an operation (pagination's weight is 2 in 13) and leave it unmeasured."""
        self.listing()
        self.search()
        self.product_by_id()
        self.paginate()

    @task(4)
    def listing(self) -> None:
        category = RNG.choice(CATALOG["categories"]) if CATALOG["categories"] and RNG.random() < 0.4 else None
        self.graphql("products: listing", LISTING, {
            "first": 20, "sort": RNG.choice(SORTS),
            "filter": {"category": category, "inStock": RNG.random() < 0.5} if category else None})

    @task(3)
    def search(self) -> None:
        words = CATALOG["words"] or ["a"]
        self.graphql("products: search", LISTING, {"first": 10, "filter": {"search": RNG.choice(words)}})

    @task(4)
    def product_by_id(self) -> None:
        if CATALOG["product_ids"]:
            self.graphql("products: by id", PRODUCT, {"id": RNG.choice(CATALOG["product_ids"])})

    @task(2)
    def paginate(self) -> None:
        data = self.graphql("products: page 1", LISTING, {"first": 10, "sort": "NAME"})
        for _ in range(2):
            page = (data or {}).get("products") or {}
            cursor = (page.get("pageInfo") or {}).get("endCursor")
            if not cursor or not page["pageInfo"].get("hasNextPage"):
                return
            data = self.graphql("products: next page", LISTING, {"first": 10, "sort": "NAME", "after": cursor})


def _payment_method() -> str:
    pick, total = RNG.random(), 0.0
    for method, share in PAYMENT_MIX:
        total += share
        if pick < total:
            return method
    return PAYMENT_MIX[0][0]


class Buyer(GraphQLUser):
    """A checkout per CHECKOUT_PACE seconds, each as a new customer: add to cart, read it, place the order."""

    wait_time = constant_pacing(CHECKOUT_PACE)

    @task
    def checkout(self) -> None:
        user = f"load-{uuid.uuid4().hex[:12]}"
        token = issue_token(user, (), JWT_SECRET, email=f"{user}@load.example")
        hot = CATALOG["hot_skus"] and RNG.random() < 0.5
        sku = RNG.choice(CATALOG["hot_skus"] if hot else CATALOG["skus"])
        added = self.graphql("cart: add", ADD_TO_CART, {"sku": sku, "quantity": RNG.randint(1, 2)}, token)
        if added is None or added["addToCart"]["__typename"] != "Cart":
            return
        self.graphql("cart: read", CART, {}, token)
        self.graphql("checkout: placeOrder", PLACE_ORDER, {
            "input": {"fromCart": True, "payment": {"provider": "CARD", "token": _payment_method()}},
            "key": uuid.uuid4().hex}, token)


class OrderSpike(LoadTestShape):
    """Base rate, then `spike` seconds of checkouts at `multiplier` x, then the base rate; None ends it."""

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        s = SETTINGS
        if elapsed >= s.duration:
            return None
        in_spike = s.before <= elapsed < s.before + s.spike
        buyers = s.spike_buyers if in_spike else s.base_buyers
        return s.browsers + buyers, float(max(50, s.spike_buyers))
