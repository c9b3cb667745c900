"""One load-test run: a fresh stack on free ports, the catalog, Locust, the samples, quiescence, the checks.

1. Start the whole stack as `make dev` does (every service and worker its own process, the embedded
   MongoDB wire-protocol server, a private Redis), on free ports, with databases of this run alone and a
   short stock hold, so that the run ends within minutes.
2. Add a limited "spike" product (so that the spike can sell it out), read the catalog through the
   gateway and the initial stock from the database.
3. Run Locust headless (a subprocess: it monkey-patches with gevent) while the sampler records queues,
   consumer lag and CPU (and, with the gateway's cache on, the cache probe reads the spike product's
   stock through the gateway against the database: bench/loadtest/cache_probe.py).
4. Wait until the system rests (the chaos suite's `quiesce`), read every order's timeline, check I1-I4
   (`tests.support.invariants`), stop the stack.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from motor.motor_asyncio import AsyncIOMotorClient

from bench.loadtest.cache_probe import CacheFigures, CacheProbe
from bench.loadtest.sampler import Sample, Sampler
from bench.loadtest.settings import LoadSettings
from scripts.stack import Stack
from subgraphs.kit.auth import issue_token
from subgraphs.kit.settings import DEV_JWT_SECRET
from tests.chaos.harness import quiesce
from tests.support.invariants import SystemState, Violation, check_all
from tests.support.system_state import SERVICES, Databases, read_stock

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
ROOT = LOCUSTFILE.parents[2]
# After the load stops, how long the system may take to rest beyond the hold (the workers' sweeps run
# once a minute; a dead consumer's entries are reclaimed after 30 s idle).
SETTLE_MARGIN_SECONDS = 90.0

CREATE_PRODUCT = """mutation Create($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ... on ProductSuccess { product { id variants { sku } } } }
}"""
CATALOG_PAGE = """query Catalog($after: String) {
  products(first: 50, after: $after, sortBy: NAME) {
    pageInfo { hasNextPage endCursor }
    edges { node { id name category variants { sku stock { available } } } }
  }
}"""


@dataclass(frozen=True)
class OrderTimeline:
    id: str
    status: str
    placed_at: float | None  # epoch seconds of AWAITING_PAYMENT
    paid_at: float | None
    cancelled_at: float | None
    reason: str | None  # the reason of the cancellation, when cancelled


@dataclass
class LoadResult:
    settings: LoadSettings
    out_dir: Path
    started_at: float  # epoch seconds when Locust started
    requests_csv: Path
    samples: list[Sample]
    timelines: list[OrderTimeline]
    initial: dict[str, int]
    hot_skus: list[str]
    state: SystemState
    violations: list[Violation]
    settled: bool
    settle_seconds: float
    locust_exit: int | None
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    sample_errors: int = 0
    notes: list[str] = field(default_factory=list)
    cache: CacheFigures | None = None  # with the gateway's cache on (settings.cache)

    @property
    def ok(self) -> bool:
        return not self.violations and self.settled


def run_databases() -> Databases:
    prefix = f"load_{uuid.uuid4().hex[:8]}"
    return Databases(**{s: f"{prefix}_{s}" for s in SERVICES}, provider_ledger=f"{prefix}_provider_ledger")


def stack_env(settings: LoadSettings, databases: Databases, out_dir: Path) -> dict[str, str]:
    hold = settings.hold_seconds
    return {
        **{f"{service.upper()}_MONGODB_DATABASE": databases.of(service) for service in SERVICES},
        "PAYMENTS_PROVIDER_LEDGER_DATABASE": databases.provider_ledger,
        "ORDERS_HOLD_TTL_SECONDS": str(hold),
        "ORDERS_STALE_CHECKOUT_SECONDS": str(max(10.0, hold / 2)),
        "PAYMENTS_BACKOFF_BASE": "0.3",
        "PAYMENTS_BACKOFF_CAP": "2",
        "PRODUCTS_SEED_DEMO": "1",
        "NOTIFICATIONS_MAILDIR": str(out_dir / "mail"),
        "LOG_LEVEL": "WARNING",
        **({"GATEWAY_CACHE": "1", "GATEWAY_CACHE_INVALIDATION_TOKEN": uuid.uuid4().hex,
            "METRICS_SCRAPE_CACHE_SECONDS": "0"} if settings.cache else {}),
    }


async def run_loadtest(settings: LoadSettings, out_dir: Path, say: Callable[[str], None] = print) -> LoadResult:
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    databases = run_databases()
    stack = Stack.on_free_ports(env=stack_env(settings, databases, out_dir), log_dir=out_dir / "logs")
    if os.environ.get("REDIS_URL") or os.environ.get("MONGODB_URL"):
        say("loadtest: REDIS_URL / MONGODB_URL are set: the run uses those servers (databases of its own)")
    say(f"loadtest: starting the stack (logs in {out_dir / 'logs'})")
    try:
        await asyncio.to_thread(stack.start)
        if not stack.shared_database:
            raise RuntimeError("the load test needs one MongoDB for every process (the embedded wire-protocol "
                               "server: `make setup`; or MONGODB_URL) to read the system's state afterwards")
        mongo_url = stack.mongo.url if stack.mongo is not None else os.environ["MONGODB_URL"]
        redis_url = stack.redis_url
        jwt_secret = os.environ.get("JWT_SECRET") or DEV_JWT_SECRET
        catalog = await asyncio.to_thread(prepare_catalog, stack.gateway_url, settings, jwt_secret)
        initial = await read_stock(mongo_url, databases.products)
        catalog_path, requests_csv = out_dir / "catalog.json", out_dir / "requests.csv"
        await asyncio.to_thread(catalog_path.write_text, json.dumps(catalog))
        await asyncio.to_thread(requests_csv.write_text, "")
        say(f"loadtest: {len(catalog['product_ids'])} products, {len(catalog['skus'])} SKUs in stock; "
            f"{settings.browsers} browsers, {settings.base_buyers} -> {settings.spike_buyers} buyers; "
            f"{settings.duration:.0f}s of load")
        load_before = os.getloadavg()
        pids = {name: process.pid for name, process in stack.processes}
        for name, server in (("redis", stack.redis), ("mongo", stack.mongo)):
            process = getattr(server, "_process", None)
            if process is not None:
                pids[name] = process.pid
        probe = CacheProbe(stack.gateway_url, mongo_url, databases.products, catalog["hot_product_id"]).start() \
            if settings.cache else None
        try:
            locust_exit, started_at, sampler = await asyncio.to_thread(
                _run_locust, settings, stack, catalog_path, requests_csv, out_dir, redis_url, pids, jwt_secret)
        finally:
            if probe is not None:
                await asyncio.to_thread(probe.stop)
        cache = await asyncio.to_thread(probe.figures, f"{stack.url(stack.instance_name('gateway'))}/metrics") \
            if probe is not None else None
        say(f"loadtest: load done; waiting for the system to rest (at most "
            f"{settings.hold_seconds + SETTLE_MARGIN_SECONDS:.0f}s)")
        settle_started = time.monotonic()
        try:
            bound = settings.hold_seconds + SETTLE_MARGIN_SECONDS
            state, settled = await quiesce(mongo_url, redis_url, databases, bound, say=say)
        finally:
            sampler.stop()
        settle_seconds = time.monotonic() - settle_started
        load_after = os.getloadavg()
        timelines = await read_timelines(mongo_url, databases.orders)
        violations = check_all(state, initial)
        return LoadResult(settings=settings, out_dir=out_dir, started_at=started_at, requests_csv=requests_csv,
                          samples=sampler.samples, timelines=timelines, initial=initial, hot_skus=catalog["hot_skus"],
                          state=state, violations=violations, settled=settled, settle_seconds=settle_seconds,
                          locust_exit=locust_exit, load_before=load_before, load_after=load_after,
                          sample_errors=sampler.errors, cache=cache)
    finally:
        await asyncio.to_thread(stack.stop)


def _run_locust(settings: LoadSettings, stack: Stack, catalog: Path, requests_csv: Path, out_dir: Path,
                redis_url: str, pids: dict[str, int], jwt_secret: str) -> tuple[int | None, float, Sampler]:
    env = {**os.environ, **settings.to_env(), "LOADTEST_CATALOG": str(catalog),
           "LOADTEST_REQUEST_LOG": str(requests_csv), "JWT_SECRET": jwt_secret,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", stack.url("gateway"),
               "--only-summary", "--exit-code-on-error", "0", "--stop-timeout", "15", "--loglevel", "WARNING",
               "--csv", str(out_dir / "locust")]
    with open(out_dir / "locust.log", "wb") as log:
        started_at = time.time()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        sampler = Sampler(redis_url, f"{stack.url('orders')}/events/stats", {**pids, "locust": process.pid},
                          interval=settings.sample_interval).start(time.monotonic())
        try:
            code: int | None = process.wait(timeout=settings.duration + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
    return code, started_at, sampler


def prepare_catalog(gateway_url: str, settings: LoadSettings, jwt_secret: str) -> dict[str, Any]:
    """Create the limited spike product, then list what browsers and buyers pick from."""
    admin = issue_token("loadtest-admin", ("catalog:write",), jwt_secret)
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {admin}"}) as http:
        variants = [{"sku": f"SPIKE-{size}", "price": {"amount": 2900, "currency": "EUR"}, "onHand": settings.hot_stock,
                     "options": [{"name": "size", "value": size}]} for size in ("S", "M", "L")]
        created = _post(http, gateway_url, CREATE_PRODUCT, {"input": {
            "name": "Spike Sneaker", "category": "Limited", "description": "A limited drop for the order spike.",
            "variants": variants}})["createProduct"]
        if created["__typename"] != "ProductSuccess":
            raise RuntimeError(f"could not create the spike product: {created}")
        hot_skus = [v["sku"] for v in created["product"]["variants"]]
        product_ids: list[str] = []
        skus: list[str] = []
        words: set[str] = set()
        categories: set[str] = set()
        after: str | None = None
        while True:
            page = _post(http, gateway_url, CATALOG_PAGE, {"after": after})["products"]
            for edge in page["edges"]:
                node = edge["node"]
                product_ids.append(node["id"])
                categories.add(node["category"])
                words.update(w.lower() for w in re.findall(r"[A-Za-z]{4,}", node["name"]))
                skus.extend(v["sku"] for v in node["variants"]
                            if v["stock"]["available"] > 0 and v["sku"] not in hot_skus)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    if not skus:
        raise RuntimeError("the catalog has no SKU in stock (is PRODUCTS_SEED_DEMO off?)")
    return {"product_ids": product_ids, "skus": skus, "hot_skus": hot_skus, "words": sorted(words),
            "categories": sorted(categories), "hot_product_id": created["product"]["id"]}


def _post(http: httpx.Client, url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = http.post(url, json={"query": query, "variables": variables})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{query.split('(')[0].strip()}: HTTP {response.status_code} {body.get('errors')}")
    return dict(body["data"])


async def read_timelines(mongo_url: str, database: str) -> list[OrderTimeline]:
    """Each order's placed, paid and cancelled times from its timeline in the orders database."""
    client: Any = AsyncIOMotorClient(mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000)
    try:
        found = []
        async for order in client[database]["orders"].find({}, {"status": 1, "timeline": 1}):
            at: dict[str, float] = {}
            reason = None
            for entry in order.get("timeline", []):
                moment = entry["at"]
                if isinstance(moment, datetime):
                    at.setdefault(entry["to"], (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
                if entry["to"] == "CANCELLED":
                    reason = entry.get("reason")
            found.append(OrderTimeline(id=str(order["_id"]), status=order["status"],
                                       placed_at=at.get("AWAITING_PAYMENT"), paid_at=at.get("PAID"),
                                       cancelled_at=at.get("CANCELLED"), reason=reason))
        return found
    finally:
        client.close()
