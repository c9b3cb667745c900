"""@inaccessible and @tag: what the API schema may hide, compared with @apollo/composition like the
other fixture sets."""

from __future__ import annotations

from gateway.composition import SubgraphSource

from .fixtures import fed2, sources

F = (
    "@key",
    "@shareable",
    "@external",
    "@requires",
    "@provides",
    "@override",
    "@inaccessible",
    "@tag",
    "@interfaceObject",
    "@extends",
)

INACCESSIBLE_FIXTURES: dict[str, list[SubgraphSource]] = {
    "inaccessible_union_member": sources(
        (
            "a",
            fed2(
                """
type Query { u: U }
union U = A | B
type A { a: Int }
type B @inaccessible { b: Int }
""",
                *F,
            ),
        )
    ),
    "inaccessible_interface_impl": sources(
        (
            "a",
            fed2(
                """
type Query { i: I }
interface I { x: Int }
type A implements I { x: Int }
type B implements I @inaccessible { x: Int }
""",
                *F,
            ),
        )
    ),
    "inaccessible_in_one_subgraph_field": sources(
        ("a", fed2("type Query { t: T }\ntype T @shareable { x: Int @inaccessible y: Int }", *F)),
        ("b", fed2("type Query { u: T }\ntype T @shareable { x: Int y: Int }", *F)),
    ),
    "inaccessible_input_optional": sources(
        ("a", fed2("type Query { f(i: I): Int }\ninput I { a: Int b: Int @inaccessible }", *F))
    ),
    "inaccessible_arg_optional_default": sources(
        ("a", fed2("type Query { f(x: Int! = 1 @inaccessible, y: Int): Int }", *F))
    ),
    "tag_on_interface_object": sources(
        (
            "a",
            fed2(
                """
type Query { m: [M] }
interface M @key(fields: "id") { id: ID! }
type B implements M @key(fields: "id") { id: ID! }
""",
                *F,
            ),
        ),
        (
            "b",
            fed2(
                """
type M @key(fields: "id") @interfaceObject @tag(name: "io") { id: ID! r: Int @tag(name: "r") @inaccessible s: Int }
""",
                *F,
            ),
        ),
    ),
    "interface_impl_field_inaccessible_both": sources(
        (
            "a",
            fed2(
                """
type Query { i: I }
interface I { x: Int @inaccessible y: Int }
type T implements I { x: Int @inaccessible y: Int }
""",
                *F,
            ),
        )
    ),
}

INACCESSIBLE_ERROR_FIXTURES: dict[str, list[SubgraphSource]] = {
    "default_uses_inaccessible_enum": sources(
        ("a", fed2("type Query { f(e: E = B): Int }\nenum E { A B @inaccessible }", *F))
    ),
    "enum_all_inaccessible_but_unused": sources(("a", fed2("type Query { a: Int }\nenum E { A @inaccessible }", *F))),
}
