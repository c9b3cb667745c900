"""The structural comparison of supergraphs used against the reference composer."""

from __future__ import annotations

from .join_structure import differences, join_structure, normalise_field_set

A = """
type Query @join__type(graph: A) @join__type(graph: B) { p: Product @join__field(graph: A) }
type Product @join__type(graph: A, key: "id  sku{ code }") @join__type(graph: B, key: "id", resolvable: true) {
  id: ID!
  name: String @join__field(graph: B, external: false) @join__field(graph: A, requires: "x")
}
enum E @join__type(graph: A) { V @join__enumValue(graph: A) }
"""
# The same meaning: other order, default arguments omitted, field set whitespace.
A_REORDERED = """
enum E @join__type(graph: A) { V @join__enumValue(graph: A) }
type Product @join__type(graph: B, key: "id") @join__type(graph: A, key: "id sku { code }") {
  name: String @join__field(graph: A, requires: "x") @join__field(graph: B)
  id: ID!
}
type Query @join__type(graph: B) @join__type(graph: A) { p: Product @join__field(graph: A) }
"""


def test_layout_and_defaults_do_not_matter() -> None:
    assert normalise_field_set("id  sku{ code }") == "id sku { code }"
    assert differences(join_structure(A), join_structure(A_REORDERED)) == []


def test_a_changed_argument_or_element_is_a_difference() -> None:
    changed = A.replace('@join__field(graph: B, external: false)', "@join__field(graph: B, external: true)")
    assert [d.split(":")[0] for d in differences(join_structure(A), join_structure(changed))] == ["Product.name"]
    missing = A.replace("enum E @join__type(graph: A) { V @join__enumValue(graph: A) }", "")
    assert len(differences(join_structure(A), join_structure(missing))) == 2  # E and E.V
