"""Validation rules of single subgraphs (field sets, @link, Federation 1 upgrades), compared with
@apollo/composition like the other fixture sets."""

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

VALIDATION_FIXTURES: dict[str, list[SubgraphSource]] = {
    "fed1_key_interface": sources(
        (
            "a",
            """
type Query { n: N }
interface N @key(fields: "id") { id: ID! }
type A implements N @key(fields: "id") { id: ID! }
""",
        )
    ),
    "fed1_external_on_base": sources(
        ("a", 'type Query { p: P }\ntype P @key(fields: "id") { id: ID! x: Int @external }'),
    ),
    "fed1_requires_non_external": sources(
        ("a", 'type Query { p: P }\ntype P @key(fields: "id") { id: ID! w: Int }'),
        ("b", 'extend type P @key(fields: "id") { id: ID! @external w: Int x: Int @requires(fields: "w") }'),
    ),
    "fed1_shareable_value_types": sources(
        ("a", "type Query { a: V }\ntype V { x: Int }"),
        ("b", "type Query { b: V }\ntype V { x: Int }"),
    ),
    "fed1_entity_same_field": sources(
        ("a", 'type Query { p: P }\ntype P @key(fields: "id") { id: ID! name: String }'),
        ("b", 'extend type P @key(fields: "id") { id: ID! @external name: String }'),
    ),
    "requires_on_key_field": sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! w: Int }', *F)),
        ("b", fed2('type P @key(fields: "id") { id: ID! @requires(fields: "w") w: Int @external }', *F)),
    ),
}

VALIDATION_ERROR_FIXTURES: dict[str, list[SubgraphSource]] = {
    "fed1_extends_only": sources(
        (
            "a",
            """
type Query { p: P }
type P @key(fields: "id") @extends { id: ID! @external x: Int }
""",
        ),
    ),
    "provides_on_scalar": sources(("a", fed2('type Query { x: Int @provides(fields: "a") }', *F))),
    "provides_external_collision": sources(
        (
            "a",
            fed2(
                """
type Query { p: P }
type P @key(fields: "id") { id: ID! q: Q }
type Q @key(fields: "id") { id: ID! n: Int }
""",
                *F,
            ),
        ),
        (
            "b",
            fed2(
                """
type P @key(fields: "id") { id: ID! q: Q @external @provides(fields: "n") }
type Q @key(fields: "id") { id: ID! n: Int @external }
""",
                *F,
            ),
        ),
    ),
    "directive_in_fields": sources(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id @skip(if: true)") { id: ID! }', *F)),
    ),
    "key_fields_alias": sources(("a", fed2('type Query { p: P }\ntype P @key(fields: "i: id") { id: ID! }', *F))),
    "key_on_interface_before_fed23": sources(
        (
            "a",
            """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.2", import: ["@key"])
type Query { m: M }
interface M @key(fields: "id") { id: ID! }
type B implements M @key(fields: "id") { id: ID! }
""",
        ),
    ),
    "unknown_federation_version": sources(
        (
            "a",
            """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.99", import: ["@key"])
type Query { a: Int }
""",
        ),
    ),
    "link_import_unknown": sources(
        (
            "a",
            """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@nope"])
type Query { a: Int }
""",
        ),
    ),
}
