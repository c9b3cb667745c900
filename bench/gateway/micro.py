"""One in-process round for bench/gateway/compiled.py: CPU microseconds per operation of the gateway's
pure computation, in whichever build `import gateway` selected (GATEWAY_PURE_PYTHON). Prints JSON.

- validate+shape: a cold operation for the bench query without its plan (parse, limits, validate,
  compile the response shape); validate+shape+plan: the same with its plan, as a plan-cache miss;
- execute+shape NxR: run the cached plan against an in-memory transport (subgraph JSON decoded per
  request, as the HTTP client does), merge, shape; N products with R reviews each.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import orjson

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.gateway.run import compose_supergraph  # noqa: E402
from bench.gateway.schema import QUERY  # noqa: E402
from gateway import native  # noqa: E402
from gateway.execution import PlanExecution, shape_response  # noqa: E402
from gateway.planning import prepare_operation  # noqa: E402
from gateway.supergraph import build_api_schema, parse_supergraph  # noqa: E402

SECONDS_PER_STEP = 0.6


class MemoryTransport:
    """The Node fixtures' answers (bench/gateway/subgraphs.js) for `products` products."""

    def __init__(self, products: int, reviews: int) -> None:
        items = [{"__typename": "Product", "upc": str(i), "name": f"Product {i}", "price": 100 * i}
                 for i in range(1, products + 1)]
        self.root = orjson.dumps({"data": {"topProducts": items}})
        self.reviews = {
            item["upc"]: {"__typename": "Product", "upc": item["upc"],
                          "reviews": [{"__typename": "Review", "body": f"Review {j} of {item['upc']}",
                                       "author": f"user{j}"} for j in range(1, reviews + 1)]}
            for item in items
        }

    def encode_headers(self, headers: Mapping[str, str]) -> bytes:
        return b""

    async def post_with_hint(
        self, service: str, body: bytes, headers: Mapping[str, str], **options: Any
    ) -> tuple[dict[str, Any], str | None, str | None]:
        if service == "products":
            return dict(orjson.loads(self.root)), None, None
        reps = orjson.loads(body)["variables"]["representations"]
        entities = orjson.dumps({"data": {"_entities": [self.reviews[r["upc"]] for r in reps]}})
        return dict(orjson.loads(entities)), None, None


def per_operation(batch: Callable[[int], Any], size: int = 20) -> float:
    """CPU microseconds per operation, `batch(n)` doing n of them, over about SECONDS_PER_STEP of CPU
    after a warm-up batch."""
    batch(size)
    calls, started = 0, time.process_time()
    while (elapsed := time.process_time() - started) < SECONDS_PER_STEP:
        batch(size)
        calls += size
    return elapsed / calls * 1e6


def main() -> None:
    sdl = compose_supergraph("http://127.0.0.1:1/graphql", "http://127.0.0.1:2/graphql")
    schema, supergraph = build_api_schema(sdl), parse_supergraph(sdl)
    loop = asyncio.new_event_loop()
    results: dict[str, Any] = {"mode": native.loaded_mode()}

    def prepare(n: int, labels: frozenset[str] | None = None) -> None:
        for _ in range(n):
            prepare_operation(QUERY, None, schema, supergraph, labels=labels)

    results["validate+shape"] = per_operation(prepare)
    results["validate+shape+plan"] = per_operation(lambda n: prepare(n, frozenset()))
    for products, reviews in ((5, 3), (50, 3)):
        query = QUERY.replace("first: 5", f"first: {products}")
        prepared = prepare_operation(query, None, schema, supergraph)
        plan = prepared.plan_for(frozenset())
        transport = MemoryTransport(products, reviews)

        async def requests(n: int, plan: Any = plan, prepared: Any = prepared, transport: Any = transport) -> Any:
            for _ in range(n):
                execution = PlanExecution(transport, supergraph, {}, {})
                await execution.run(plan)
                shaped = shape_response(prepared.shape, execution.data, {}, execution.errors)
            return shaped

        shaped = loop.run_until_complete(requests(1))
        assert shaped is not None and len(shaped["topProducts"]) == products, shaped
        def batch(n: int, requests: Callable[[int], Coroutine[Any, Any, Any]] = requests) -> Any:
            return loop.run_until_complete(requests(n))

        results[f"execute+shape {products}x{reviews}"] = per_operation(batch)
    results["mode"] = native.loaded_mode()  # after every hot module was imported
    print(json.dumps(results))


if __name__ == "__main__":
    main()
