"""Fixture sets about reaching fields (the satisfiability check): key jumps, @requires chains,
@provides paths, abstract types, compared with @apollo/composition like the other fixtures."""

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

PATH_FIXTURES: dict[str, list[SubgraphSource]] = {
    "requires_chain": sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! w: Int }', *F)),
        ("b", fed2('type P @key(fields: "id") { id: ID! w: Int @external x: Int @requires(fields: "w") }', *F)),
        ("c", fed2('type P @key(fields: "id") { id: ID! x: Int @external y: Int @requires(fields: "x") }', *F)),
    ),
    "keys_bridge": sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }', *F)),
        ("b", fed2('type P @key(fields: "id") @key(fields: "sku") { id: ID! sku: ID! }', *F)),
        ("c", fed2('type P @key(fields: "sku") { sku: ID! x: Int }', *F)),
    ),
    # a shareable root field reaches each subgraph's own value-type fields (the planner picks the root)
    "root_shareable_value_type": sources(
        ("a", fed2("type Query { p: P @shareable }\ntype P @shareable { id: ID! a: Int }", *F)),
        ("b", fed2("type Query { p: P @shareable }\ntype P @shareable { id: ID! b: Int }", *F)),
    ),
    "interface_object_keys": sources(
        (
            "a",
            fed2(
                """
type Query { m: [M] }
interface M @key(fields: "id") { id: ID! }
type X implements M @key(fields: "id") { id: ID! }
type Y implements M @key(fields: "id") { id: ID! }
""",
                *F,
            ),
        ),
        (
            "b",
            fed2(
                """
type M @key(fields: "id") @interfaceObject { id: ID! extra: Int }
type Query { ms: [M] }
""",
                *F,
            ),
        ),
        ("c", fed2('type M @key(fields: "id") @interfaceObject { id: ID! more: Int }', *F)),
    ),
    "provides_path": sources(
        (
            "a",
            fed2(
                """
type Query { r: [R] }
type R { u: U @provides(fields: "name") }
type U @key(fields: "id") { id: ID! name: String @external }
""",
                *F,
            ),
        ),
        ("b", fed2('type U @key(fields: "id") { id: ID! name: String @shareable age: Int }', *F)),
    ),
    "provides_only_path_no_key": sources(
        (
            "a",
            fed2(
                """
type Query { r: [R] }
type R { u: U @provides(fields: "name") }
type U @key(fields: "id", resolvable: false) { id: ID! name: String @external }
""",
                *F,
            ),
        ),
        ("b", fed2('type U @key(fields: "id") { id: ID! name: String @shareable age: Int }', *F)),
    ),
    "abstract_explode": sources(
        (
            "a",
            fed2(
                """
type Query { n: [N] }
interface N { id: ID! }
type A implements N @key(fields: "id") { id: ID! }
type B implements N @key(fields: "id") { id: ID! }
""",
                *F,
            ),
        ),
        (
            "b",
            fed2(
                """
interface N { id: ID! x: Int }
type A implements N @key(fields: "id") { id: ID! x: Int }
type B implements N @key(fields: "id") { id: ID! x: Int }
""",
                *F,
            ),
        ),
    ),
    "union_entity_members": sources(
        (
            "a",
            fed2(
                """
type Query { s: [S] }
union S = A | B
type A @key(fields: "id") { id: ID! }
type B @key(fields: "id") { id: ID! }
""",
                *F,
            ),
        ),
        (
            "b",
            fed2(
                """
type A @key(fields: "id") { id: ID! a: Int }
type B @key(fields: "id") { id: ID! b: Int }
""",
                *F,
            ),
        ),
    ),
    "mutation_entity_follow": sources(
        (
            "a",
            fed2(
                """
type Query { q: Int }
type Mutation { add: P }
type P @key(fields: "id") { id: ID! }
""",
                *F,
            ),
        ),
        ("b", fed2('type P @key(fields: "id") { id: ID! x: Int }', *F)),
    ),
    # `overdue { ... on Personal { balance } }` stays in `billing`, which cannot tell the implementations
    # apart but resolves `balance` for all of them (the reference's "fake downcast")
    "interface_object_type_condition": sources(
        (
            "accounts",
            fed2(
                """
interface Account @key(fields: "id") { id: ID! name: String! }
type Personal implements Account @key(fields: "id") { id: ID! name: String! }
type Business implements Account @key(fields: "id") { id: ID! name: String! vat: String! }
""",
                *F,
            ),
        ),
        (
            "billing",
            fed2(
                """
type Query { overdue: [Account!]! }
type Account @key(fields: "id", resolvable: false) @interfaceObject { id: ID! balance: Int! }
""",
                *F,
            ),
        ),
    ),
}

PATH_ERROR_FIXTURES: dict[str, list[SubgraphSource]] = {
    "keys_no_common": sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }', *F)),
        ("b", fed2('type P @key(fields: "sku") { sku: ID! x: Int }', *F)),
    ),
    "abstract_explode_missing": sources(
        (
            "a",
            fed2(
                """
type Query { n: [N] }
interface N { id: ID! }
type A implements N @key(fields: "id") { id: ID! }
type B implements N @key(fields: "id") { id: ID! }
""",
                *F,
            ),
        ),
        (
            "b",
            fed2(
                """
interface N { id: ID! x: Int }
type A implements N @key(fields: "id") { id: ID! x: Int }
""",
                *F,
            ),
        ),
    ),
    "requires_nested_from_other": sources(
        (
            "a",
            fed2(
                """
type Query { p: P }
type P @key(fields: "id") { id: ID! d: D }
type D @shareable { x: Int }
""",
                *F,
            ),
        ),
        (
            "b",
            fed2(
                """
type P @key(fields: "id") { id: ID! d: D @external z: Int @requires(fields: "d { x y }") }
type D @shareable { x: Int y: Int }
""",
                *F,
            ),
        ),
        ("c", fed2("type D @shareable { x: Int y: Int }\ntype Query { dd: D }", *F)),
    ),
}
