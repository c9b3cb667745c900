"""One test per composition error: code, subgraphs, coordinate, and a readable message."""

from __future__ import annotations

import pytest

from gateway.composition import CompositionError, SubgraphSource, compose

from .fixtures import ERROR_FIXTURES, fed2, sources


def error_of(subgraphs: list[SubgraphSource]) -> CompositionError:
    with pytest.raises(CompositionError) as info:
        compose(subgraphs)
    return info.value


def single(subgraphs: list[SubgraphSource], code: str) -> tuple[CompositionError, str]:
    error = error_of(subgraphs)
    assert [i.code for i in error.issues] == [code], str(error)
    return error, str(error)


def test_field_type_mismatch() -> None:
    error, text = single(ERROR_FIXTURES["field_type_mismatch"], "FIELD_TYPE_MISMATCH")
    issue = error.issues[0]
    assert issue.coordinate == "T.x" and issue.subgraphs == ["a", "b"]
    assert 'it has type "Int" in subgraph "a" but type "String" in subgraph "b"' in issue.message
    assert text.startswith("composition failed with 1 error\nerror[FIELD_TYPE_MISMATCH]: Type of field")
    assert "--> T.x | subgraphs: a, b" in text


def test_invalid_field_sharing() -> None:
    error, text = single(ERROR_FIXTURES["invalid_field_sharing"], "INVALID_FIELD_SHARING")
    issue = error.issues[0]
    assert issue.coordinate == "Product.name" and issue.subgraphs == ["a", "b"]
    assert (
        'error[INVALID_FIELD_SHARING]: Product.name is defined in subgraphs "a" and "b" but not marked '
        '@shareable in subgraphs "a" and "b"'
    ) in text


def test_field_resolved_through_provides_must_be_shareable_in_owner() -> None:
    subgraphs = sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! name: String }', "@key")),
        (
            "b",
            fed2(
                'type Query { q: P @provides(fields: "name") }\n'
                'type P @key(fields: "id") { id: ID! name: String @external }',
                "@key",
                "@external",
                "@provides",
            ),
        ),
    )
    error, _ = single(subgraphs, "INVALID_FIELD_SHARING")
    assert 'not marked @shareable in subgraph "a"' in error.issues[0].message


def test_key_selecting_unknown_field() -> None:
    error, text = single(ERROR_FIXTURES["key_invalid_fields"], "KEY_INVALID_FIELDS")
    issue = error.issues[0]
    assert issue.coordinate == "Product" and issue.subgraphs == ["a"]
    assert '[a] On type "Product", for @key(fields: "upc"): Cannot query field "upc" on type "Product"' in text


def test_key_selecting_interface_type() -> None:
    error, _ = single(ERROR_FIXTURES["key_invalid_type"], "KEY_FIELDS_SELECT_INVALID_TYPE")
    assert 'field "Product.node" is a Interface Type' in error.issues[0].message


def test_key_with_invalid_syntax() -> None:
    subgraphs = sources(("a", fed2('type Query { p: P }\ntype P @key(fields: "id {") { id: ID! }', "@key")))
    single(subgraphs, "KEY_INVALID_FIELDS")


def test_external_unused() -> None:
    error, text = single(ERROR_FIXTURES["external_unused"], "EXTERNAL_UNUSED")
    issue = error.issues[0]
    assert issue.coordinate == "Product.x" and issue.subgraphs == ["b"]
    assert '[b] Field "Product.x" is marked @external but is not used' in text


def test_external_used_to_satisfy_an_interface_is_fine() -> None:
    compose(
        sources(
            ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! x: Int }', "@key")),
            (
                "b",
                fed2(
                    'interface I { x: Int }\ntype P implements I @key(fields: "id") { id: ID! x: Int @external }'
                    "\ntype Query { i: I }",
                    "@key",
                    "@external",
                ),
            ),
        )
    )


def test_external_missing_on_base() -> None:
    subgraphs = sources(
        (
            "a",
            fed2(
                'type Query { p: P @provides(fields: "x") }\ntype P @key(fields: "id") { id: ID! x: Int @external }',
                "@key",
                "@external",
                "@provides",
            ),
        ),
    )
    error, _ = single(subgraphs, "EXTERNAL_MISSING_ON_BASE")
    assert error.issues[0].coordinate == "P.x"


def test_requires_unknown_field() -> None:
    error, text = single(ERROR_FIXTURES["requires_unknown"], "REQUIRES_INVALID_FIELDS")
    issue = error.issues[0]
    assert issue.coordinate == "Product.y" and issue.subgraphs == ["b"]
    assert 'for @requires(fields: "nope"): Cannot query field "nope" on type "Product"' in text


def test_requires_non_external_field() -> None:
    subgraphs = sources(
        (
            "a",
            fed2(
                'type Query { p: P }\ntype P @key(fields: "id") { id: ID! x: Int @requires(fields: "id") }',
                "@key",
                "@requires",
            ),
        ),
    )
    error, _ = single(subgraphs, "REQUIRES_FIELDS_MISSING_EXTERNAL")
    assert error.issues[0].coordinate == "P.x"


def test_provides_unknown_field() -> None:
    error, _ = single(ERROR_FIXTURES["provides_unknown"], "PROVIDES_INVALID_FIELDS")
    assert error.issues[0].coordinate == "Query.p" and error.issues[0].subgraphs == ["a"]


def test_provides_on_scalar_field() -> None:
    subgraphs = sources(("a", fed2('type Query { n: Int @provides(fields: "x") }', "@provides")))
    single(subgraphs, "PROVIDES_ON_NON_OBJECT_FIELD")


def test_satisfiability_value_type_field_missing_in_reachable_subgraph() -> None:
    error, text = single(ERROR_FIXTURES["unsatisfiable"], "SATISFIABILITY_ERROR")
    issue = error.issues[0]
    assert issue.coordinate == "T.extra" and issue.subgraphs == ["a", "b"]
    assert "{\n  t {\n    extra\n  }\n}" in text
    assert 'because type "T" has no @key defined in subgraph "b"' in text


def test_satisfiability_field_only_in_non_resolvable_entity() -> None:
    error, text = single(ERROR_FIXTURES["unsatisfiable_entity"], "SATISFIABILITY_ERROR")
    assert error.issues[0].coordinate == "Product.price"
    assert '"resolvable" argument set to false' in text


def test_satisfiability_type_reachable_only_without_key() -> None:
    subgraphs = sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }', "@key")),
        ("b", fed2("type Query { other: Int }\ntype P @shareable { id: ID! extra: Int }", "@shareable")),
    )
    error = error_of(subgraphs)
    assert "SATISFIABILITY_ERROR" in [i.code for i in error.issues]


def test_enum_value_mismatch_when_used_as_input_and_output() -> None:
    error = error_of(ERROR_FIXTURES["enum_mismatch"])
    assert {i.code for i in error.issues} == {"ENUM_VALUE_MISMATCH"}
    assert {i.coordinate for i in error.issues} == {"Color.GREEN", "Color.BLUE"}


def test_type_kind_mismatch() -> None:
    _, text = single(ERROR_FIXTURES["kind_mismatch"], "TYPE_KIND_MISMATCH")
    assert 'Type "T" has mismatched kind: it is defined as Object Type in subgraph "a" but Interface Type' in text


def test_required_argument_missing_in_some_subgraph() -> None:
    error, _ = single(ERROR_FIXTURES["required_arg_missing"], "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH")
    assert error.issues[0].coordinate == "Query.t(a:)"


def test_required_input_field_missing_in_some_subgraph() -> None:
    subgraphs = sources(
        ("a", fed2("type Query { a(f: F): Int }\ninput F { x: Int! }")),
        ("b", fed2("type Query { b(f: F): Int }\ninput F { y: Int }")),
    )
    error = error_of(subgraphs)
    assert "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH" in [i.code for i in error.issues]


def test_argument_type_mismatch() -> None:
    subgraphs = sources(
        ("a", fed2("type Query { t(a: Int): Int @shareable }", "@shareable")),
        ("b", fed2("type Query { t(a: String): Int @shareable }", "@shareable")),
    )
    single(subgraphs, "ARGUMENT_TYPE_MISMATCH")


def test_override_from_self() -> None:
    subgraphs = sources(
        (
            "a",
            fed2(
                'type Query { p: P }\ntype P @key(fields: "id") { id: ID! x: Int @override(from: "a") }',
                "@key",
                "@override",
            ),
        ),
    )
    single(subgraphs, "OVERRIDE_FROM_SELF_ERROR")


def test_interface_field_not_implemented_after_merge() -> None:
    subgraphs = sources(
        (
            "a",
            fed2(
                "type Query { i: I }\ninterface I { x: Int }\ntype T implements I @shareable { x: Int }", "@shareable"
            ),
        ),
        ("b", fed2("type Query { t: T }\ninterface I { x: Int y: Int }\ntype T @shareable { x: Int }", "@shareable")),
    )
    error = error_of(subgraphs)
    assert "INTERFACE_FIELD_NO_IMPLEM" in [i.code for i in error.issues]


def test_fed1_extension_without_base() -> None:
    subgraphs = sources(("a", 'type Query { p: P }\nextend type P @key(fields: "id") { id: ID! @external x: Int }'))
    error = error_of(subgraphs)
    assert "EXTENSION_WITH_NO_BASE" in [i.code for i in error.issues]


def test_invalid_sdl_names_the_subgraph() -> None:
    error, text = single(sources(("broken", "type Query {")), "INVALID_GRAPHQL")
    assert error.issues[0].subgraphs == ["broken"]
    assert text.splitlines()[1].startswith("error[INVALID_GRAPHQL]: [broken] Syntax Error")


def test_unknown_directive_in_fed2_subgraph() -> None:
    _, text = single(
        sources(("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }'))), "INVALID_GRAPHQL"
    )
    assert 'Unknown directive "@key"' in text and "imported with @link" in text


def test_bad_link_url() -> None:
    single(sources(("a", 'extend schema @link(url: "nope")\ntype Query { x: Int }')), "INVALID_LINK_DIRECTIVE_USAGE")


def test_no_queries() -> None:
    single(sources(("a", fed2('type P @key(fields: "id") { id: ID! }', "@key"))), "NO_QUERIES")


def test_duplicate_subgraph_names() -> None:
    single(sources(("a", fed2("type Query { x: Int }")), ("a", fed2("type Query { y: Int }"))), "INVALID_SUBGRAPH_NAME")


def test_every_issue_is_reported_at_once() -> None:
    subgraphs = sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "nope") { id: ID! }', "@key")),
        ("b", fed2('type P @key(fields: "id") { id: ID! x: Int @external }', "@key", "@external")),
    )
    error = error_of(subgraphs)
    assert sorted(i.code for i in error.issues) == ["EXTERNAL_UNUSED", "KEY_INVALID_FIELDS"]
    assert str(error).startswith("composition failed with 2 errors\n")


def test_unknown_type_reference() -> None:
    error, _ = single(sources(("a", fed2("type Query { x: Missing }"))), "INVALID_GRAPHQL")
    assert error.issues[0].coordinate == "Query.x"
    assert 'Unknown type "Missing"' in error.issues[0].message


INTERFACE_A = fed2(
    'type Query { i: I }\ninterface I { id: ID! }\ntype X implements I @key(fields: "id") { id: ID! }\n'
    "type Z implements I @shareable { id: ID! }",
    "@key",
    "@shareable",
)


def test_interface_field_reached_through_entity_implementations_is_satisfiable() -> None:
    b = fed2(
        'interface I { id: ID! name: String }\ntype X implements I @key(fields: "id") { id: ID! name: String }',
        "@key",
    )
    a = INTERFACE_A.replace("\ntype Z implements I @shareable { id: ID! }", "")
    compose(sources(("a", a), ("b", b)))


def test_interface_field_unsatisfiable_on_a_value_type_implementation() -> None:
    b = fed2(
        'interface I { id: ID! name: String }\ntype X implements I @key(fields: "id") { id: ID! name: String }\n'
        "type Z implements I @shareable { id: ID! name: String }",
        "@key",
        "@shareable",
    )
    error, text = single(sources(("a", INTERFACE_A), ("b", b)), "SATISFIABILITY_ERROR")
    assert error.issues[0].coordinate == "Z.name"
    assert "{\n  i {\n    ... on Z {\n      name\n    }\n  }\n}" in text
