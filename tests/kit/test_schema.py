"""The kit's schema: a depth limit, and parsing and validation served from cache."""

from __future__ import annotations

import strawberry

from subgraphs.kit.schema import MAX_QUERY_DEPTH, federation_schema, validate_cached


@strawberry.type
class Node:
    name: str

    @strawberry.field
    def child(self) -> Node:
        return Node(name=f"{self.name}.child")


@strawberry.type
class Query:
    @strawberry.field
    def root(self) -> Node:
        return Node(name="root")


def nested(depth: int) -> str:
    return "{ root { " + "child { " * depth + "name" + " }" * depth + " } }"


async def test_queries_deeper_than_the_limit_are_refused() -> None:
    schema = federation_schema(query=Query)
    shallow = await schema.execute(nested(3))
    assert shallow.errors is None
    deep = await schema.execute(nested(MAX_QUERY_DEPTH + 2))
    assert deep.errors and "exceeds maximum operation depth" in deep.errors[0].message


async def test_a_repeated_operation_is_validated_once() -> None:
    schema = federation_schema(query=Query)
    cache = validate_cached
    query = nested(4)
    await schema.execute(query)
    hits = cache.cache_info().hits
    for _ in range(3):
        assert (await schema.execute(query)).errors is None
    assert cache.cache_info().hits == hits + 3
