"""The supergraph text is a valid schema that graphql-core builds, with the join machinery in place."""

from __future__ import annotations

import pytest
import strawberry
from graphql import build_ast_schema, parse

from gateway.composition import SubgraphSource, compose

from .all_fixtures import SUPERGRAPH_SETS
from .fixtures import FIXTURES, fed2

ALL_FIXTURES = SUPERGRAPH_SETS


@pytest.mark.parametrize("name", sorted(ALL_FIXTURES))
def test_fixture_supergraph_builds_with_graphql_core(name: str) -> None:
    sdl = compose(ALL_FIXTURES[name])
    schema = build_ast_schema(parse(sdl))
    assert schema.query_type is not None and schema.query_type.name == "Query"
    for directive in ("join__type", "join__field", "join__graph", "link"):
        assert schema.get_directive(directive) is not None
    assert sdl.startswith(
        'schema\n  @link(url: "https://specs.apollo.dev/link/v1.0")\n'
        '  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)\n'
    )
    for machinery in ("_Service", "_Entity", "_Any", "_service", "_entities", "federation__", "@key("):
        assert machinery not in sdl
    graph_enum = schema.type_map["join__Graph"]
    assert len(graph_enum.values) == len(ALL_FIXTURES[name])  # type: ignore[attr-defined]


def test_composition_is_deterministic_and_order_independent() -> None:
    subgraphs = FIXTURES["basic"]
    assert compose(subgraphs) == compose(list(reversed(subgraphs)))


def test_subgraph_sdl_with_federation_definitions_is_stripped() -> None:
    sdl = fed2(
        """
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @link(url: String!, import: [link__Import]) repeatable on SCHEMA
scalar FieldSet
scalar link__Import
scalar _Any
union _Entity = Product
type _Service { sdl: String }
type Query { _service: _Service! _entities(representations: [_Any!]!): [_Entity]! product: Product }
type Product @key(fields: "id") { id: ID! }
""",
        "@key",
    )
    out = compose([SubgraphSource("a", "http://a", sdl)])
    assert "FieldSet!" not in out and "_Entity" not in out and "directive @key" not in out
    assert "product: Product" in out


@strawberry.federation.type(keys=["upc"])
class Product:
    upc: str
    name: str = strawberry.federation.field(shareable=True)


@strawberry.type
class Query:
    @strawberry.field
    def top(self) -> list[Product]:
        return []


def _strawberry_sdl() -> str:
    schema = strawberry.federation.Schema(query=Query)
    result = schema.execute_sync("{ _service { sdl } }")
    assert result.data is not None
    sdl: str = result.data["_service"]["sdl"]
    return sdl


def test_strawberry_generated_subgraph_composes() -> None:
    out = compose([SubgraphSource("products", "http://products/graphql", _strawberry_sdl())])
    schema = build_ast_schema(parse(out))
    assert "top" in schema.query_type.fields  # type: ignore[union-attr]
    assert '@join__type(graph: PRODUCTS, key: "upc")' in out
