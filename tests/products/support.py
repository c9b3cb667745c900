"""Helpers for the products tests: running the schema with a context, and counting MongoDB queries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers

from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from subgraphs.products.config import ProductsConfig
from subgraphs.products.schema import build_schema
from subgraphs.products.schema.context import ProductsContext
from subgraphs.products.service import ProductsService
from tests.support.mongo import TestMongo

SCHEMA = build_schema()
QUERY_METHODS = {"find", "find_one", "count_documents", "aggregate", "distinct"}


class FakeRequest:
    """What the context reads from a request: its headers."""

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        self.headers = Headers(headers or {})


class CountingCollection:
    """Wraps a motor/mongomock collection and counts the read queries made through it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    @property
    def queries(self) -> int:
        return sum(self.calls[m] for m in QUERY_METHODS)

    def reset(self) -> None:
        self.calls.clear()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if callable(attr):
            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls[name] += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def count_queries(service: ProductsService) -> CountingCollection:
    """Route the catalog's product collection through a counter (for the rest of the test)."""
    store = service.catalog.store
    counting = CountingCollection(store.products)
    store.products = counting
    return counting


@dataclass
class Harness:
    runtime: ServiceRuntime
    service: ProductsService

    async def stop(self) -> None:
        await self.service.stop()
        await self.runtime.stop()

    async def execute(self, query: str, variables: dict[str, Any] | None = None,
                      headers: dict[str, str] | None = None) -> Any:
        context = ProductsContext(self.runtime, FakeRequest(headers), None, service=self.service)  # type: ignore[arg-type]
        return await SCHEMA.execute(query, variable_values=variables, context_value=context)

    async def data(self, query: str, variables: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
        result = await self.execute(query, variables, headers)
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data

    async def error_code(self, query: str, variables: dict[str, Any] | None = None,
                         headers: dict[str, str] | None = None) -> str:
        result = await self.execute(query, variables, headers)
        assert result.errors, f"expected an error, got {result.data}"
        return str((result.errors[0].extensions or {}).get("code"))


async def start_harness(redis_url: str, mongo: TestMongo, config: ProductsConfig) -> Harness:
    """A started products service on this test's database and the given Redis (`stop()` it)."""
    runtime = ServiceRuntime(Settings.from_env("products", env={"REDIS_URL": redis_url, **mongo.env("products")}))
    await runtime.start()
    service = ProductsService(runtime, config)
    await service.start()
    return Harness(runtime, service)
