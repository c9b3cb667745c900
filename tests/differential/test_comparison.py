"""The differential tests' own parts, without a stack: the comparison, the generator, the SDL
normalisation for Grafbase."""

from __future__ import annotations

from graphql import build_schema, parse, validate

from .compare import Canon, Outcome
from .gateways import grafbase_sdl
from .generate import Enum, generate

SCHEMA = build_schema("""
type Query {
  order(id: ID!): Order
  orders(first: Int! = 20, status: Status = null, sort: Status! = OPEN): [Order!]!
  me: User
}
enum Status { OPEN PAID }
type User { id: ID! name: String! cart: Cart }
type Cart { total: Int! lines: [Line!]! }
type Line { sku: String! quantity: Int! }
type Order { id: ID! number: String! status: Status! customer: User! result: Result }
union Result = Paid | Failed
type Paid { at: String! }
type Failed { reason: String! }
""")


def test_outcomes_differ_on_data_and_on_error_paths_not_on_messages() -> None:
    base = Outcome.of({"data": {"me": None}, "errors": [{"message": "a", "path": ["me"]}]})
    assert base == Outcome.of({"data": {"me": None}, "errors": [{"message": "b", "path": ["me"]}]})
    assert base != Outcome.of({"data": {"me": None}, "errors": [{"message": "a", "path": ["me", "id"]}]})
    assert base != Outcome.of({"data": {"me": {"id": "1"}}})
    assert Outcome.of({"errors": [{"message": "bad"}]}).error_paths == {("<request>",)}


def test_canon_numbers_created_values_so_links_between_them_are_compared() -> None:
    first, second = Canon(), Canon()
    run_a = [{"id": "o-1", "createdAt": "t1"}, {"order": {"id": "o-1"}}, {"id": "o-2", "reason": "payment "
             "1f37befd-87e9-5406-9466-2245c579fd7d done"}]
    run_b = [{"id": "x", "createdAt": "t2"}, {"order": {"id": "x"}}, {"id": "y", "reason": "payment "
             "2ea4a660-9163-5348-8ddb-829eb4455a65 done"}]
    assert first(run_a) == second(run_b)
    linked_differently = [{"id": "x", "createdAt": "t2"}, {"order": {"id": "y"}}, {"id": "y", "reason": "payment"}]
    assert Canon()(run_a) != Canon()(linked_differently)


def test_generated_operations_are_valid_deterministic_and_reach_depth_three() -> None:
    examples = {"Query.order.id": "o1"}
    generated = generate(SCHEMA, examples)
    assert generated.skipped == []
    for operation in generated.operations:
        assert validate(SCHEMA, parse(operation.document)) == [], operation.document
    assert [op.document for op in generate(SCHEMA, examples).operations] == \
        [op.document for op in generated.operations]
    documents = "\n".join(op.document for op in generated.operations)
    assert "customer { " in documents and "cart { " in documents  # order -> customer -> cart
    assert "... on Paid { at }" in documents and "... on Failed { reason }" in documents
    assert "orders(first: 3, status: PAID)" in documents  # one operation per enum value
    assert "orders(first: 3, status: OPEN)" in documents


def test_a_required_argument_without_an_example_is_skipped_and_named() -> None:
    generated = generate(SCHEMA, {})
    assert generated.skipped == ["Query.order(id:)"]  # not `sort`: non-null, but with a default
    assert not any("order(" in op.document for op in generated.operations)
    assert all(op.name.startswith("Gen_") for op in generated.operations)
    given = [op.document for op in generate(SCHEMA, {"orders.status": Enum("PAID")}).operations]
    assert any("orders(first: 3, status: PAID)" in d for d in given)
    assert not any("status: OPEN" in d for d in given)  # an example replaces the enum's variants


def test_grafbase_sdl_spells_out_inaccessible_on_what_an_inaccessible_parent_hides() -> None:
    sdl = """
    type Query { reserve(lines: [LineInput!]!, note: String): Reservation @inaccessible  open: Int }
    type Reservation @inaccessible { state: State! }
    enum State @inaccessible { HELD }
    input LineInput @inaccessible { sku: String! }
    """
    out = grafbase_sdl(sdl)
    assert "reserve(lines: [LineInput!]! @inaccessible, note: String @inaccessible)" in out
    assert "state: State! @inaccessible" in out
    assert "sku: String! @inaccessible" in out
    assert "open: Int\n" in out  # visible fields stay visible
    assert out.count("@inaccessible") == 8
