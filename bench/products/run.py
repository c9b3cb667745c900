"""Catalog read throughput of the products subgraph over real HTTP, Redis cache on vs off.

`python -m bench.products.run` starts one private redis-server, one MongoDB wire-protocol server and,
per mode, the products service in a subprocess (uvicorn) with PRODUCTS_CACHE=1 or 0; both services
read the same database, seeded once with the demo catalog. BENCH_MONGO picks the database:
`memory` (default: the embedded mongoeco server, memory engine), `sqlite` (the same server on its
SQLite engine, in a temporary file), `fake` (each service on its own in-memory mongomock, as before
the wire-protocol server existed); MONGODB_URL, when set, wins (a real MongoDB). An aiohttp client
keeps CONCURRENCY requests in flight for RUN_SECONDS; each workload is measured RUNS times per mode
after a warm-up (runs of the two modes alternate, so machine noise hits both alike), and medians are
reported. Results are printed as a table and written to var/bench/products.json.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from subgraphs.kit import embedded_mongo
from subgraphs.kit.embedded_mongo import EmbeddedMongo
from subgraphs.kit.embedded_redis import EmbeddedRedis, free_port
from subgraphs.products.demo import demo_documents

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "var" / "bench" / "products.json"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
RUN_SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))
WARMUP_SECONDS = 1.0
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
STORES = ("memory", "sqlite", "fake")
DATABASE = "products_bench"

LISTING = """query($first: Int!, $sort: ProductSort!, $filter: ProductFilter) {
  products(first: $first, sortBy: $sort, filter: $filter) {
    totalCount
    edges { cursor node { id name slug category priceRange { min { amount currency } }
                          variants { sku price { amount currency } stock { available } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
PRODUCT = """query($id: ID!) {
  product(id: $id) { id name slug description category images status createdAt
                     variants { id sku options { name value } price { amount currency }
                                stock { onHand reserved available } } }
}"""


def listing_requests() -> Iterator[dict[str, Any]]:
    """A rotating mix of listing pages: every sort order, with and without filters."""
    filters: list[dict[str, Any] | None] = [None, {"category": "apparel"}, {"inStock": True},
                                            {"minPrice": 2000, "maxPrice": 9000},
                                            {"category": "outdoor", "inStock": True, "maxPrice": 30000}]
    variants = [{"query": LISTING, "variables": {"first": 20, "sort": sort, "filter": f}}
                for sort in ("NEWEST", "PRICE_ASC", "PRICE_DESC", "NAME") for f in filters]
    return itertools.cycle(variants)


def search_requests() -> Iterator[dict[str, Any]]:
    """Searches of one to three words (prefixes, several words, accents and case folded, no match)."""
    terms = ["alpine", "back", "harbor mug", "recycled materials", "SUMM", "field guide", "kettle sage",
             "crème", "nordic runner", "zzz"]
    variants = [{"query": LISTING, "variables": {"first": 20, "sort": sort, "filter": {"search": term}}}
                for sort in ("NEWEST", "NAME") for term in terms]
    return itertools.cycle(variants)


def product_requests() -> Iterator[dict[str, Any]]:
    return itertools.cycle([{"query": PRODUCT, "variables": {"id": d["_id"]}} for d in demo_documents()])


WORKLOADS = {"catalog listing (20 per page)": listing_requests, "search (20 per page)": search_requests,
             "product by id": product_requests}


class Database:
    """Where the services read: a shared server (MONGODB_URL or the embedded one), or `fake`."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.url: str | None = os.environ.get("MONGODB_URL") or None
        self._server: EmbeddedMongo | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        if self.url is None and kind != "fake":
            if embedded_mongo.unavailable_reason() is not None:
                raise SystemExit(f"BENCH_MONGO={kind}: {embedded_mongo.unavailable_reason()}; "
                                 "run with BENCH_MONGO=fake for the in-memory fake")
            path = None
            if kind == "sqlite":
                self._dir = tempfile.TemporaryDirectory(prefix="bench-products-")
                path = Path(self._dir.name) / "data.sqlite"
            self._server = EmbeddedMongo(path=path).start()
            self.url = self._server.url

    @property
    def label(self) -> str:
        if os.environ.get("MONGODB_URL"):
            return "MongoDB at MONGODB_URL"
        return {"memory": "embedded wire-protocol server (mongoeco 4.11, memory engine)",
                "sqlite": "embedded wire-protocol server (mongoeco 4.11, SQLite engine)",
                "fake": "in-memory fake in each service (mongomock-motor)"}[self.kind]

    def env(self) -> dict[str, str]:
        if self.url is None:
            return {"MONGODB_EMBEDDED": "0", "PRODUCTS_SEED_DEMO": "1"}
        return {"MONGODB_URL": self.url, "PRODUCTS_MONGODB_DATABASE": DATABASE}

    def seed(self) -> None:
        if self.url is not None:
            subprocess.run([sys.executable, "-m", "subgraphs.products", "seed"], env={**os.environ, **self.env()},
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._dir is not None:
            self._dir.cleanup()


class Server:
    """The products service in a subprocess."""

    def __init__(self, redis_url: str, database: Database, cache: bool) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PRODUCTS_PORT": str(self.port), "PRODUCTS_HOST": "127.0.0.1", **database.env(),
               "REDIS_URL": redis_url, "PRODUCTS_CACHE": "1" if cache else "0", "LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen([sys.executable, "-m", "subgraphs.products"], env=env, cwd=ROOT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the products service exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit("the products service did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def drive(url: str, requests: Iterator[dict[str, Any]], seconds: float) -> dict[str, float]:
    """Keep CONCURRENCY requests in flight for `seconds`; every answer must be a GraphQL success."""
    done = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.post(f"{url}/graphql", json=next(requests)) as response:
                    body = await response.json()
                if response.status != 200 or body.get("errors"):
                    raise RuntimeError(f"request failed: {response.status} {str(body)[:300]}")
                latencies.append(time.perf_counter() - started)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"reads_per_s": done / elapsed, "requests": done,
            "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}


def measure(urls: dict[str, str]) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Runs of the two modes alternate, so a noisy neighbour on the machine hits both alike."""
    results: dict[str, dict[str, list[dict[str, float]]]] = {mode: {} for mode in urls}
    for name, make in WORKLOADS.items():
        requests = {mode: make() for mode in urls}
        for mode, url in urls.items():
            asyncio.run(drive(url, requests[mode], WARMUP_SECONDS))
            results[mode][name] = []
        for _ in range(RUNS):
            for mode, url in urls.items():
                results[mode][name].append(asyncio.run(drive(url, requests[mode], RUN_SECONDS)))
    return results


def main() -> int:
    began = time.monotonic()
    kind = os.environ.get("BENCH_MONGO", "memory").strip().lower() or "memory"
    if kind not in STORES:
        print(f"BENCH_MONGO must be one of {', '.join(STORES)}, not {kind!r}", file=sys.stderr)
        return 2
    redis = EmbeddedRedis().start()
    database: Database | None = None
    servers: dict[str, Server] = {}
    try:
        database = Database(kind)
        database.seed()
        for mode, cache in (("cache_off", False), ("cache_on", True)):
            servers[mode] = Server(redis.url, database, cache)
        for server in servers.values():
            server.wait_ready()
        modes = measure({mode: server.url for mode, server in servers.items()})
    finally:
        for server in servers.values():
            server.stop()
        if database is not None:
            database.stop()
        redis.stop()

    rows = []
    for name in WORKLOADS:
        off = statistics.median(r["reads_per_s"] for r in modes["cache_off"][name])
        on = statistics.median(r["reads_per_s"] for r in modes["cache_on"][name])
        off_p50 = statistics.median(r["p50_ms"] for r in modes["cache_off"][name])
        on_p50 = statistics.median(r["p50_ms"] for r in modes["cache_on"][name])
        rows.append({"workload": name, "cache_off_reads_per_s": round(off, 1), "cache_on_reads_per_s": round(on, 1),
                     "ratio_on_off": round(on / off, 2), "cache_off_p50_ms": round(off_p50, 2),
                     "cache_on_p50_ms": round(on_p50, 2)})

    store = database.label
    print(f"\nproducts catalog reads over HTTP: {CONCURRENCY} concurrent, median of {RUNS} x {RUN_SECONDS:g}s, "
          f"{store}, {os.cpu_count()} cores")
    header = f"{'workload':<32}{'cache off /s':>14}{'cache on /s':>14}{'on/off':>8}{'p50 off ms':>12}{'p50 on ms':>11}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['workload']:<32}{row['cache_off_reads_per_s']:>14.1f}{row['cache_on_reads_per_s']:>14.1f}"
              f"{row['ratio_on_off']:>7.2f}x{row['cache_off_p50_ms']:>12.2f}{row['cache_on_p50_ms']:>11.2f}")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps({
        "benchmark": "products catalog reads", "concurrency": CONCURRENCY, "run_seconds": RUN_SECONDS,
        "runs": RUNS, "store": store, "python": platform.python_version(), "cpus": os.cpu_count(),
        "summary": rows, "raw": modes, "wall_seconds": round(time.monotonic() - began, 1),
    }, indent=2))
    print(f"\nwritten to {OUTPUT.relative_to(ROOT)} in {time.monotonic() - began:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
