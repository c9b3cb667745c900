"""Response shaping and plan execution against a stub subgraph client (no network)."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.execution.executor import PlanExecution
from gateway.execution.merge import merge_into
from gateway.execution.shaping import shape_response
from gateway.planning import prepare_operation
from gateway.planning.operation import normalize_selections
from gateway.planning.shape import ShapeCompiler
from gateway.supergraph import build_api_schema, parse_supergraph

from . import media, shop

SHOP_SCHEMA = build_api_schema(shop.SUPERGRAPH)
MEDIA_SCHEMA = build_api_schema(media.SUPERGRAPH)


def shape(schema: Any, query: str, data: Any, variables: dict[str, Any] | None = None) -> tuple[Any, list[Any]]:
    from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

    doc = parse(query)
    op = doc.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    compiled = ShapeCompiler(schema).compile_root("Query", normalize_selections(op.selection_set, frags))
    errors: list[Any] = []
    return shape_response(compiled, data, variables or {}, errors), errors


def test_shape_drops_internal_fields_and_keeps_selection_order() -> None:
    data = {"me": {"__typename": "User", "id": "1", "name": "Ada", "gw_id_1": "x"}}
    result, errors = shape(SHOP_SCHEMA, "{ me { name id __typename } }", data)
    assert result == {"me": {"name": "Ada", "id": "1", "__typename": "User"}}
    assert list(result["me"]) == ["name", "id", "__typename"]
    assert errors == []


def test_shape_type_conditions_on_abstract_types() -> None:
    data = {
        "media": [
            {"__typename": "Book", "id": "b1", "title": "Dune", "author": "H"},
            {"__typename": "Movie", "id": "m1", "title": "Alien", "director": "S"},
        ]
    }
    query = "{ media { title ... on Book { author } ...M } } fragment M on Movie { director }"
    result, _ = shape(MEDIA_SCHEMA, query, data)
    assert result == {"media": [{"title": "Dune", "author": "H"}, {"title": "Alien", "director": "S"}]}


def test_shape_skip_include_with_merged_occurrences() -> None:
    data = {"me": {"id": "1", "name": "Ada", "username": "@ada"}}
    query = "{ me { id name @include(if: $x) } me { username @skip(if: $x) } }"
    result, _ = shape(SHOP_SCHEMA, query, data, {"x": True})
    assert result == {"me": {"id": "1", "name": "Ada"}}
    result, _ = shape(SHOP_SCHEMA, query, data, {"x": False})
    assert result == {"me": {"id": "1", "username": "@ada"}}


def test_null_in_non_null_field_bubbles_to_nearest_nullable_parent() -> None:
    data = {"topProducts": [{"upc": "1", "name": "A"}, {"upc": None, "name": "B"}]}
    result, errors = shape(SHOP_SCHEMA, "{ topProducts { upc name } }", data)
    assert result == {"topProducts": [{"upc": "1", "name": "A"}, None]}
    assert errors[0]["path"] == ["topProducts", 1, "upc"]


def test_null_bubbles_to_data_when_everything_is_non_null() -> None:
    schema = build_api_schema(
        shop.SUPERGRAPH.replace("me: User @join__field(graph: ACCOUNTS)", "me: User! @join__field(graph: ACCOUNTS)")
    )
    result, errors = shape(schema, "{ me { id } }", {"me": {"id": None}})
    assert result is None
    assert errors[0]["path"] == ["me", "id"]


def test_merge_into_deep() -> None:
    target: dict[str, Any] = {"a": [{"x": 1}, {"x": 2}], "b": {"c": 1}}
    merge_into(target, {"a": [{"y": 1}, {"y": 2}], "b": {"d": 2}, "e": None})
    assert target == {"a": [{"x": 1, "y": 1}, {"x": 2, "y": 2}], "b": {"c": 1, "d": 2}, "e": None}


class StubClient:
    def __init__(self, responses: dict[str, Any]) -> None:
        self.responses = responses
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def encode_headers(self, headers: Any) -> bytes:
        return b""

    async def post(self, service: str, body: bytes, headers: Any, **options: Any) -> dict[str, Any]:
        payload = orjson.loads(body)
        self.calls.append((service, payload))
        response = self.responses[service]
        return response(payload) if callable(response) else response

    async def post_with_hint(
        self, service: str, body: bytes, headers: Any, **options: Any
    ) -> tuple[dict[str, Any], str | None, str | None]:
        return await self.post(service, body, headers), None, None


async def run(query: str, client: StubClient, variables: dict[str, Any] | None = None) -> tuple[Any, list[Any]]:
    sg = parse_supergraph(media.SUPERGRAPH)
    prepared = prepare_operation(query, None, MEDIA_SCHEMA, sg)
    execution = PlanExecution(client, sg, variables or {}, {})
    await execution.run(prepared.plan_for(frozenset()))
    return shape_response(prepared.shape, execution.data, variables or {}, execution.errors), execution.errors


async def test_null_key_fields_skip_the_entity() -> None:
    def people(payload: dict[str, Any]) -> dict[str, Any]:
        reps = payload["variables"]["representations"]
        return {"data": {"_entities": [{"name": f"{r['region']}-{r['id']}"} for r in reps]}}

    client = StubClient(
        {
            "store": {
                "data": {
                    "a": {"seller": {"__typename": "Seller", "region": "eu", "id": "1"}},
                    "b": {"seller": {"__typename": "Seller", "region": None, "id": "2"}},
                    "c": {"seller": {"__typename": "Seller", "region": "eu", "id": "1"}},
                }
            },
            "people": people,
        }
    )
    query = (
        '{ a: book(id: "1") { seller { name } } b: book(id: "2") { seller { name } } '
        'c: book(id: "3") { seller { name } } }'
    )
    result, errors = await run(query, client)
    assert result == {
        "a": {"seller": {"name": "eu-1"}},
        "b": {"seller": {"name": None}},
        "c": {"seller": {"name": "eu-1"}},
    }
    people_calls = [payload for service, payload in client.calls if service == "people"]
    # one Flatten per root field path; the null-key seller under `b` is never sent
    assert [call["variables"]["representations"] for call in people_calls] == [
        [{"__typename": "Seller", "region": "eu", "id": "1"}],
        [{"__typename": "Seller", "region": "eu", "id": "1"}],
    ]
    assert errors == []


async def test_entity_error_index_maps_to_response_path() -> None:
    client = StubClient(
        {
            "catalog": {"data": {"media": [{"__typename": "Book", "id": "b1"}, {"__typename": "Movie", "id": "m1"}]}},
            "ratings": {
                "data": {"_entities": [{"rating": 1}, None]},
                "errors": [{"message": "no rating", "path": ["_entities", 1, "rating"], "locations": [{"line": 1}]}],
            },
        }
    )
    result, errors = await run("{ media { id rating } }", client)
    assert result == {"media": [{"id": "b1", "rating": 1}, {"id": "m1", "rating": None}]}
    assert errors == [{"message": "no rating", "path": ["media", 1, "rating"], "extensions": {"service": "ratings"}}]


async def test_duplicate_representations_are_sent_once() -> None:
    def ratings(payload: dict[str, Any]) -> dict[str, Any]:
        reps = payload["variables"]["representations"]
        return {"data": {"_entities": [{"rating": len(r["id"])} for r in reps]}}

    client = StubClient(
        {
            "catalog": {
                "data": {
                    "media": [
                        {"__typename": "Book", "id": "b1"},
                        {"__typename": "Movie", "id": "m1"},
                        {"__typename": "Book", "id": "b1"},
                    ]
                }
            },
            "ratings": ratings,
        }
    )
    result, _ = await run("{ media { id rating } }", client)
    assert result == {"media": [{"id": "b1", "rating": 2}, {"id": "m1", "rating": 2}, {"id": "b1", "rating": 2}]}
    (ratings_call,) = [payload for service, payload in client.calls if service == "ratings"]
    assert ratings_call["variables"]["representations"] == [
        {"__typename": "Media", "id": "b1"},
        {"__typename": "Media", "id": "m1"},
    ]
