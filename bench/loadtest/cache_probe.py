"""With the gateway's cache on (`LOADTEST_CACHE=1`): how stale can a cached read be under the spike,
and how often was the cache hit.

Staleness: on a thread of its own, once per `interval`, the probe reads the spike product's stock
through the gateway anonymously (a public read, cached for `PRODUCTS_STOCK_MAX_AGE` unless invalidated),
with the truth read from the products database just before and just after. A SKU's gateway value is
fresh when it lies between the two truths (the stock may change while the read is under way); any
other value is stale. A stale *stretch* is a run of consecutive stale probes of one SKU, and its length
(from its first stale probe to the next fresh one) bounds how long the gateway lagged behind a change.

Hit rate: `gateway_cache_lookups_total` from the gateway's /metrics once the load is over.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pymongo import MongoClient

from bench.loadtest.background import Background

STOCK = "query Stock($id: ID!) { product(id: $id) { variants { sku stock { available } } } }"


@dataclass(frozen=True)
class Probe:
    t: float  # seconds since the probe started
    stale: dict[str, bool]  # sku -> whether the gateway's value was outside the truths around it


@dataclass(frozen=True)
class CacheFigures:
    probes: int
    stale_share: float  # of SKU readings
    stretches: list[float]  # seconds, one per stale stretch
    lookups: dict[str, tuple[float, float]]  # kind -> (hits, misses)
    errors: int
    interval: float  # seconds between probes

    @property
    def stale_median(self) -> float | None:
        return statistics.median(self.stretches) if self.stretches else None

    @property
    def stale_max(self) -> float | None:
        return max(self.stretches) if self.stretches else None


@dataclass
class CacheProbe(Background):
    gateway_url: str  # /graphql
    mongo_url: str
    database: str  # products'
    product_id: str
    interval: float = 0.25
    probes: list[Probe] = field(default_factory=list)
    errors: int = 0

    def start(self) -> CacheProbe:
        self._spawn("loadtest-cache-probe")
        return self

    def _run(self) -> None:
        started = time.monotonic()
        mongo: Any = MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000)
        products = mongo[self.database]["products"]
        try:
            with httpx.Client(timeout=10) as http:
                while not self._stop.wait(self.interval):
                    try:
                        before = _truth(products, self.product_id)
                        seen = _through_gateway(http, self.gateway_url, self.product_id)
                        after = _truth(products, self.product_id)
                    except (httpx.HTTPError, ValueError, KeyError, TypeError, OSError):
                        self.errors += 1
                        continue
                    stale = {sku: not (min(before[sku], after[sku]) <= value <= max(before[sku], after[sku]))
                             for sku, value in seen.items() if sku in before and sku in after}
                    self.probes.append(Probe(time.monotonic() - started, stale))
        finally:
            mongo.close()

    def figures(self, metrics_url: str) -> CacheFigures:
        readings = [flag for probe in self.probes for flag in probe.stale.values()]
        lookups: dict[str, tuple[float, float]] = {}
        try:
            lookups = cache_lookups(httpx.get(metrics_url, timeout=10).text)
        except httpx.HTTPError:
            self.errors += 1
        return CacheFigures(probes=len(self.probes), stale_share=sum(readings) / len(readings) if readings else 0.0,
                            stretches=stale_stretches(self.probes), lookups=lookups, errors=self.errors,
                            interval=self.interval)


def _truth(products: Any, product_id: str) -> dict[str, int]:
    document = products.find_one({"_id": product_id}, {"variants.sku": 1, "variants.stock.available": 1})
    if document is None:
        raise ValueError(f"no product {product_id}")
    return {v["sku"]: int((v.get("stock") or {}).get("available", 0)) for v in document.get("variants", [])}


def _through_gateway(http: httpx.Client, url: str, product_id: str) -> dict[str, int]:
    body = http.post(url, json={"query": STOCK, "variables": {"id": product_id}}).json()
    if body.get("errors") or not body.get("data") or not body["data"]["product"]:
        raise ValueError(f"the gateway answered {body}")
    return {v["sku"]: int(v["stock"]["available"]) for v in body["data"]["product"]["variants"]}


def stale_stretches(probes: list[Probe]) -> list[float]:
    """Per SKU, each run of stale probes: seconds from its first stale probe to the next fresh one (or
    to the last probe, when the run never ended)."""
    stretches: list[float] = []
    opened: dict[str, float] = {}
    for probe in probes:
        for sku, stale in probe.stale.items():
            if stale and sku not in opened:
                opened[sku] = probe.t
            elif not stale and sku in opened:
                stretches.append(probe.t - opened.pop(sku))
    if probes:
        stretches.extend(probes[-1].t - start for start in opened.values())
    return stretches


def cache_lookups(metrics_text: str) -> dict[str, tuple[float, float]]:
    """kind -> (hits, misses) of gateway_cache_lookups_total."""
    counts: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "gateway_cache_lookups_total":
                pair = counts.setdefault(sample.labels["kind"], [0.0, 0.0])
                pair[0 if sample.labels["result"] == "hit" else 1] += sample.value
    return {kind: (hits, misses) for kind, (hits, misses) in sorted(counts.items())}
