"""Small fixture sets, one composition rule each, checked against @apollo/composition like the others
(``test_reference_parity.py``): the supergraph sets compose, the error sets fail with the codes the
reference composer gives."""

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
)

RULE_FIXTURES: dict[str, list[SubgraphSource]] = {
    # the description most subgraphs agree on (the first on a tie), the first @deprecated reason
    "descriptions_deprecations": sources(
        ("a", fed2('"""A"""\ntype Query { "one" f: Int @shareable @deprecated(reason: "a") }', *F)),
        ("b", fed2('"""B"""\ntype Query { "two" f: Int @shareable @deprecated(reason: "b") }', *F)),
    ),
    "tag_everywhere": sources(
        (
            "a",
            fed2(
                """
type Query @tag(name: "q") { f(x: Int @tag(name: "arg")): I @tag(name: "f") g(i: In): Int }
interface I @tag(name: "i") { v: Int @tag(name: "iv") }
type T implements I @tag(name: "t") { v: Int }
input In @tag(name: "in") { a: Int @tag(name: "ina") }
""",
                *F,
            ),
        ),
    ),
    "shareable_on_extension": sources(
        ("a", fed2('type Query { t: T }\ntype T @key(fields: "id") { id: ID! x: Int @shareable }', *F)),
        ("b", fed2('type T @key(fields: "id") { id: ID! }\nextend type T @shareable { x: Int }', *F)),
    ),
    # output types merge to the most general: nullable wins, list items too
    "nullable_merge": sources(
        ("a", fed2("type Query { t: T }\ntype T @shareable { l: [Int!]! n: Int! }", *F)),
        ("b", fed2("type Query { u: T }\ntype T @shareable { l: [Int] n: Int }", *F)),
    ),
    "inaccessible_type": sources(
        ("a", fed2("type Query { t: Int s: Secret @inaccessible }\ntype Secret @inaccessible { x: Int }", *F)),
    ),
    "requires_on_interface_object": sources(
        (
            "a",
            fed2(
                """
type Query { m: [Media] }
interface Media @key(fields: "id") { id: ID! title: String }
type Book implements Media @key(fields: "id") { id: ID! title: String }
""",
                *F,
            ),
        ),
        (
            "b",
            fed2(
                """
type Media @key(fields: "id") @interfaceObject {
  id: ID!
  title: String @external
  slug: String @requires(fields: "title")
}
""",
                *F,
            ),
        ),
    ),
    # arguments: one missing somewhere is dropped, non-null wins (input types merge to the most specific)
    "optional_argument_missing": sources(
        ("a", fed2("type Query { f(x: Int, y: String): Int @shareable }", *F)),
        ("b", fed2("type Query { f(x: Int): Int @shareable }", *F)),
    ),
    "argument_non_null_wins": sources(
        ("a", fed2("type Query { f(x: Int!): Int @shareable }", *F)),
        ("b", fed2("type Query { f(x: Int): Int @shareable }", *F)),
    ),
    "input_field_non_null_wins": sources(
        ("a", fed2("type Query { f(i: I): Int }\ninput I { x: Int! y: [Int] }", *F)),
        ("b", fed2("type Query { g(i: I): Int }\ninput I { x: Int y: [Int!] }", *F)),
    ),
    "implements_in_one_subgraph": sources(
        ("a", fed2("type Query { t: T }\ninterface I { x: Int }\ntype T implements I @shareable { x: Int }", *F)),
        ("b", fed2("type Query { u: T }\ntype T @shareable { x: Int }", *F)),
    ),
    "union_in_one_subgraph": sources(
        ("a", fed2("type Query { r: R }\nunion R = A | B\ntype A { a: Int }\ntype B { b: Int }", *F)),
        ("b", fed2("type Query { z: Int }", *F)),
    ),
    # an enum used nowhere merges like an output enum: all the values
    "enum_unused": sources(
        ("a", fed2("type Query { z: Int }\nenum E { A B }", *F)),
        ("b", fed2("type Query { y: Int }\nenum E { B C }", *F)),
    ),
    "deprecated_enum_value_and_argument": sources(
        ("a", fed2('type Query { f(x: Int @deprecated(reason: "no"), y: E): E }\nenum E { A @deprecated B }', *F)),
    ),
    "specified_by": sources(
        ("a", fed2('type Query { d: D }\nscalar D @specifiedBy(url: "https://a")', *F)),
        ("b", fed2("type Query { e: D }\nscalar D", *F)),
    ),
    # Federation 1: a @provides of fields that are not @external is inactive and dropped
    "fed1_inactive_provides": sources(
        ("a", 'type Query { me: U }\ntype U @key(fields: "id") { id: ID! name: String nick: String }'),
        (
            "b",
            """
type Review { id: ID! author: U @provides(fields: "name") editor: U @provides(fields: "name nick") }
extend type U @key(fields: "id") { id: ID! @external name: String nick: String @external }
extend type Query { r: Review }
""",
        ),
    ),
    "key_resolvable_false": sources(
        (
            "a",
            fed2(
                "type Query { r: Review }\ntype Review { id: ID! author: User }\n"
                'type User @key(fields: "id", resolvable: false) { id: ID! }',
                *F,
            ),
        ),
        ("b", fed2('type Query { u: User }\ntype User @key(fields: "id") { id: ID! name: String }', *F)),
    ),
    "schema_tag": sources(("a", fed2('extend schema @tag(name: "s")\ntype Query { a: Int }', *F))),
    "fed1_root_rename": sources(
        ("a", "schema { query: RootQuery }\ntype RootQuery { a: Int }"),
        ("b", "extend type Query { b: Int }"),
    ),
    # a key field may be nullable in a subgraph that only needs it as a key
    "key_field_nullable_elsewhere": sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }', *F)),
        ("b", fed2('type P @key(fields: "id") { id: ID y: Int }', *F)),
    ),
    # join__Graph values: names that sanitize alike all get _1, _2...; a trailing _<digits> gets a `_`
    "graph_enum_names": sources(
        ("my-subgraph", fed2("type Query { a: Int }")),
        ("1abc", fed2("type Query { b: Int }")),
        ("a.b", fed2("type Query { c: Int }")),
        ("A", fed2("type Query { d: Int }")),
        ("a", fed2("type Query { e: Int }")),
        ("a_b", fed2("type Query { f: Int }")),
        ("v_2", fed2("type Query { g: Int }")),
    ),
}

RULE_ERROR_FIXTURES: dict[str, list[SubgraphSource]] = {
    "mutation_field_in_two_subgraphs": sources(
        ("a", fed2("type Query { q: Int }\ntype Mutation { m: Int }", *F)),
        ("b", fed2("type Mutation { m: Int }", *F)),
    ),
    "fed1_value_type_field_unreachable": sources(
        ("a", "type Query { a: V }\ntype V { x: Int y: Int }"),
        ("b", "type Query { b: V }\ntype V { x: Int }"),
    ),
    "external_type_mismatch": sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! x: Int }', *F)),
        ("b", fed2('type P @key(fields: "id") { id: ID! x: String @external y: Int @requires(fields: "x") }', *F)),
    ),
    # Federation 2: a type's @external covers all its fields, in any definition or extension
    "type_external_covers_all_fields": sources(
        (
            "a",
            fed2(
                'type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! name: String! weight: Int }', *F
            ),
        ),
        (
            "b",
            fed2(
                """
type Product @key(fields: "id") { id: ID! ship: Int @requires(fields: "name weight") }
extend type Product @external { name: String! weight: Int }
""",
                *F,
            ),
        ),
    ),
    "argument_default_mismatch": sources(
        ("a", fed2("type Query { f(x: Int = 1): Int @shareable }", *F)),
        ("b", fed2("type Query { f(x: Int = 2): Int @shareable }", *F)),
    ),
    # the field is still merged: no EMPTY_MERGED_INPUT_TYPE on top
    "input_field_default_mismatch": sources(
        ("a", fed2("type Query { f(i: I): Int }\ninput I { x: Int = 1 }", *F)),
        ("b", fed2("type Query { g(i: I): Int }\ninput I { x: Int = 2 }", *F)),
    ),
    "subscription_field_shareable": sources(
        ("a", fed2("type Query { q: Int }\ntype Subscription { s: Int @shareable }", *F)),
        ("b", fed2("type Subscription { s: Int @shareable }", *F)),
    ),
    "interface_object_without_interface": sources(
        ("a", fed2('type Query { m: Media }\ntype Media @key(fields: "id") @interfaceObject { id: ID! }', *F)),
    ),
    "interface_object_defines_implementation": sources(
        (
            "a",
            fed2(
                'type Query { m: Media }\ninterface Media @key(fields: "id") { id: ID! }\n'
                'type Book implements Media @key(fields: "id") { id: ID! }',
                *F,
            ),
        ),
        (
            "b",
            fed2(
                'type Media @key(fields: "id") @interfaceObject { id: ID! r: Int }\n'
                'type Book @key(fields: "id") { id: ID! }',
                *F,
            ),
        ),
    ),
    # @override on an @interfaceObject field; its field also clashes with the implementation's
    "override_on_interface_object": sources(
        (
            "a",
            fed2(
                'type Query { m: Media }\ninterface Media @key(fields: "id") { id: ID! t: Int }\n'
                'type Book implements Media @key(fields: "id") { id: ID! t: Int }',
                *F,
            ),
        ),
        ("b", fed2('type Media @key(fields: "id") @interfaceObject { id: ID! t: Int @override(from: "a") }', *F)),
    ),
    "value_type_field_unreachable": sources(
        ("a", fed2("type Query { a: V }\ntype V @shareable { x: Int y: Int }", *F)),
        ("b", fed2("type Query { b: V }\ntype V @shareable { x: Int }", *F)),
    ),
    "interface_key_missing_implementation": sources(
        (
            "a",
            fed2(
                'type Query { n: Node }\ninterface Node @key(fields: "id") { id: ID! }\n'
                'type A implements Node @key(fields: "id") { id: ID! a: Int }',
                *F,
            ),
        ),
        (
            "b",
            fed2(
                'type B implements Node @key(fields: "id") { id: ID! b: Int }\n'
                'interface Node @key(fields: "id") { id: ID! }',
                *F,
            ),
        ),
    ),
    "inaccessible_type_referenced": sources(
        ("a", fed2("type Query { s: Secret }\ntype Secret @inaccessible { x: Int }", *F)),
    ),
    "only_inaccessible_children": sources(
        ("a", fed2("type Query { t: T }\ntype T { x: Int @inaccessible }", *F)),
    ),
    "required_argument_inaccessible": sources(
        ("a", fed2("type Query { t(x: Int! @inaccessible): Int }", *F)),
    ),
    "inaccessible_implements_accessible_interface_field": sources(
        (
            "a",
            fed2(
                "type Query { i: I }\ninterface I { x: Int y: Int }\n"
                "type T implements I { x: Int @inaccessible y: Int }",
                *F,
            ),
        ),
    ),
}
