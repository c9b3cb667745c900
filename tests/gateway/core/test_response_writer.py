"""The C response writer (gateway/execution/_response_writer.c) against shaping in Python and orjson:
the same bytes for every response it writes, and no response written where shaping reports an error.

The writer is built by `make compile`; `make test-compiled` (GATEWAY_EXPECT_COMPILED=1) requires it,
a pure-Python run checks `response_body`'s fallback only.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, build_schema, parse

from gateway.execution import response_json
from gateway.execution.response_json import response_body
from gateway.execution.shaping import shape_response
from gateway.planning.operation import normalize_selections
from gateway.planning.shape import COMPOSITE, LEAF, TYPENAME, ShapeCompiler, ShapeSel
from tests.support.c_extensions import built_or_skip

SCHEMA = build_schema(
    """
    scalar JSON
    enum Color { RED GREEN }
    interface Node { id: ID! }
    type Product implements Node {
      id: ID! name: String price: Float qty: Int! tags: [String!] color: Color colors: [Color!]
      grid: [[Color]] meta: JSON reviews: [Review!]! related: [Product] owner: User!
    }
    type Review implements Node { id: ID! body: String! author: User }
    type User implements Node { id: ID! name: String! }
    union Item = Product | Review
    type Query {
      product: Product products: [Product!] node: Node items: [Item] matrix: [[Product!]] count: Int!
      user: User!
    }
    """
)

QUERIES = [
    "{ product { id name price qty tags color colors grid meta } count }",
    "{ p: product { __typename n: name id } products { id owner { name } reviews { body author { id } } } }",
    "{ node { id __typename ... on Product { name color } ... on User { name } } }",
    "{ items { __typename ... on Product { id related { id name } } ... on Review { body } } }",
    "{ matrix { id qty } user { id name } }",
    "query ($x: Boolean!) { product { id name @include(if: $x) tags @skip(if: $x) } count @skip(if: $x) }",
    "{ product { ...F owner { __typename } } } fragment F on Product { id meta grid }",
]

NASTY_STRINGS = ["", "plain", 'q"uote', "back\\slash", "\x00\x01\x1f\x7f", "tab\tnew\nline\r\f\b", "é ü 日本 😀",
                 "\u2028\u2029", "</script>"]


def compiled(query: str) -> ShapeSel:
    doc = parse(query)
    op = doc.definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    frags = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    return ShapeCompiler(SCHEMA).compile_root("Query", normalize_selections(op.selection_set, frags))


def python_body(shape: ShapeSel, data: Any, variables: dict[str, Any]) -> tuple[bytes, list[Any]]:
    errors: list[Any] = []
    shaped = shape_response(shape, data, variables, errors)
    if errors:
        return orjson.dumps({"errors": errors, "data": shaped}), errors
    return orjson.dumps({"data": shaped}), errors


class Data:
    """Random merged data for a shape: well formed, or with `faults` (nulls where the schema has none,
    values of another kind, unknown enum values and __typenames, missing keys)."""

    def __init__(self, seed: int, faults: float) -> None:
        self.rng = random.Random(seed)
        self.faults = faults

    def fault(self) -> bool:
        return self.rng.random() < self.faults

    def scalar(self) -> Any:
        pick = self.rng.randrange(9)
        if pick < 3:
            return self.rng.choice(NASTY_STRINGS)
        if pick == 3:
            return self.rng.choice([0, -1, 7, 2**63 - 1, -(2**63), 2**64 - 1])
        if pick == 4:
            return self.rng.choice([0.1, -2.5, 1e20, 1e-7, 3.0, float("nan")])
        if pick == 5:
            return self.rng.choice([True, False])
        if pick == 6:
            return {"k": self.rng.choice(NASTY_STRINGS), "n": [1, {"x": None}], "é": 1.5}
        if pick == 7:
            return [self.rng.choice(NASTY_STRINGS), 3, None]
        return self.rng.choice(NASTY_STRINGS)

    def items(self, levels: tuple[bool, ...], leaf: Any) -> Any:
        if not levels:
            return leaf()
        if self.fault():
            return self.rng.choice(["not a list", {"a": 1}])
        out = []
        for _ in range(self.rng.randrange(4)):
            if (levels[0] or self.fault()) and self.rng.random() < 0.2:
                out.append(None)
            else:
                out.append(self.items(levels[1:], leaf))
        return out

    def obj(self, sel: ShapeSel) -> dict[str, Any]:
        out: dict[str, Any] = {}
        fields = sel.fields
        if sel.by_type is not None:
            names = sorted(sel.by_type)
            typename = "Hidden" if self.fault() else self.rng.choice(names)
            out["__typename"] = typename
            fields = sel.by_type.get(typename, fields)
        elif sel.typename is not None:
            out["__typename"] = sel.typename
        for field in fields:
            if self.fault():
                if self.rng.random() < 0.5:
                    out[field.key] = None
                continue  # missing
            if field.kind == TYPENAME:
                continue
            if field.nullable and self.rng.random() < 0.1:
                out[field.key] = None
                continue
            enum_values = field.enum_values
            if field.kind == COMPOSITE:
                sub = field.sub
                assert sub is not None

                def leaf(sub: ShapeSel = sub) -> Any:
                    return self.obj(sub) if not self.fault() else "not an object"

                out[field.key] = self.items(field.list_nullable, leaf)
            elif enum_values is not None:
                values = sorted(enum_values)

                def enum(values: list[str] = values) -> Any:
                    return "PURPLE" if self.fault() else self.rng.choice(values)

                out[field.key] = self.items(field.list_nullable, enum)
            else:
                assert field.kind == LEAF
                out[field.key] = self.scalar()
        return out


def writer() -> Any:
    return built_or_skip(response_json.WRITER, "the C response writer")


def write(shape: ShapeSel, data: Any, variables: dict[str, Any]) -> bytes | None:
    module = writer()
    result: bytes | None = module.write(module.compile(shape), data, variables)
    return result


@pytest.mark.parametrize("query", QUERIES)
def test_well_formed_data_is_written_as_shaping_and_orjson_write_it(query: str) -> None:
    shape = compiled(query)
    for seed in range(150):
        data = Data(seed, faults=0.0).obj(shape)
        for variables in ({"x": True}, {"x": False}):
            expected, errors = python_body(shape, data, variables)
            assert errors == []
            assert write(shape, data, variables) == expected, (seed, data)


@pytest.mark.parametrize("query", QUERIES)
def test_faulty_data_is_written_only_where_shaping_reports_no_error(query: str) -> None:
    shape = compiled(query)
    written = handed_back = 0
    for seed in range(300):
        data = Data(seed, faults=0.15).obj(shape)
        expected, errors = python_body(shape, data, {"x": seed % 2 == 0})
        body = write(shape, data, {"x": seed % 2 == 0})
        if errors:
            assert body is None, (seed, errors)
            handed_back += 1
        elif body is not None:
            assert body == expected, (seed, data)
            written += 1
    assert written and handed_back  # both sides of the line were crossed


def test_every_character_below_128_is_escaped_as_orjson_escapes_it() -> None:
    shape = compiled("{ product { name meta } }")
    text = "".join(chr(code) for code in range(128))
    data = {"product": {"name": text, "meta": {text: [text]}}}
    assert write(shape, data, {}) == orjson.dumps({"data": data})


def test_what_only_orjson_or_python_can_answer_is_handed_back() -> None:
    shape = compiled("{ product { name meta } count }")
    for meta in ({1: "a non-str key"}, "\ud800 a lone surrogate", [[[]]] * 2 + [_deep(300)]):
        assert write(shape, {"product": {"name": "n", "meta": meta}, "count": 1}, {}) is None
    assert write(shape, ["not", "an", "object"], {}) is None


def test_no_data_is_an_object_whose_non_null_fields_are_missing() -> None:
    assert write(compiled("{ product { id } }"), None, {}) == b'{"data":{"product":null}}'
    assert write(compiled("{ count }"), None, {}) is None  # Int! missing: shaping reports it


def test_response_body_gives_the_python_bytes_with_or_without_the_writer() -> None:
    shape = compiled("{ product { id color tags } count }")
    good = {"product": {"id": "1", "color": "RED", "tags": ["a"]}, "count": 2}
    bad = {"product": {"id": "1", "color": "PURPLE", "tags": None}, "count": 2}
    for data in (good, bad, None):
        errors: list[Any] = []
        assert response_body(shape, data, {}, errors) == python_body(shape, data, {})[0]
    prior = [{"message": "a subgraph failed"}]
    assert orjson.loads(response_body(shape, good, {}, prior))["errors"] == [{"message": "a subgraph failed"}]


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value
