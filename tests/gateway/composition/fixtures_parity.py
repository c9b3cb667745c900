"""Fixture sets for the cases where our composer once disagreed with @apollo/composition.

Each set is composed by both composers in ``test_reference_parity.py``; the comments say what the
reference composer does with it.
"""

from __future__ import annotations

from gateway.composition import SubgraphSource

from .fixtures import fed2, sources

FED = ("@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible")

# A key whose fields no single subgraph has: to jump to `billing`, `customer { id region }` is
# collected from `customers` and `regions` first (the reference composer's key condition resolver
# plans a sub-query; it composes).
NESTED_KEY_COLLECTED = sources(
    (
        "accounts",
        fed2('type Query { orders: [Order!]! }\ntype Order @key(fields: "id") { id: ID! number: String! }', *FED),
    ),
    (
        "customers",
        fed2(
            """
type Order @key(fields: "id") { id: ID! customer: Customer! @shareable }
type Customer @key(fields: "id") { id: ID! name: String! }
""",
            *FED,
        ),
    ),
    (
        "regions",
        fed2('type Customer @key(fields: "id") { id: ID! region: String! @shareable }', *FED),
    ),
    (
        "billing",
        fed2(
            """
type Order @key(fields: "id customer { id region }") { id: ID! customer: Customer! @shareable total: Int! }
type Customer @key(fields: "id", resolvable: false) { id: ID! region: String! @shareable }
""",
            *FED,
        ),
    ),
)

# @requires may select fields with arguments (the selection gives them, or their defaults apply);
# only @key and @provides reject fields with arguments (FIELDS_HAS_ARGS).
REQUIRES_WITH_ARGS = sources(
    (
        "products",
        fed2(
            """
type Query { products: [Product!]! }
type Product @key(fields: "id") {
  id: ID!
  price(currency: String!): Int!
  weight(unit: String = "kg"): Float!
}
""",
            *FED,
        ),
    ),
    (
        "shipping",
        fed2(
            """
type Product @key(fields: "id") {
  id: ID!
  price(currency: String!): Int! @external
  weight(unit: String = "kg"): Float! @external
  insurance: Int! @requires(fields: "price(currency: \\"EUR\\")")
  shippingEstimate: Int! @requires(fields: "weight")
}
""",
            *FED,
        ),
    ),
)

# An enum value @inaccessible where it is defined needs not exist in the other subgraphs, even when
# the enum is used as input and output: it stays in the supergraph (hidden from the API schema).
ENUM_INACCESSIBLE_VALUE = sources(
    (
        "a",
        fed2(
            """
type Query { status(filter: Status): Status level(min: Level): Int }
enum Status { OPEN CLOSED ARCHIVED @inaccessible }
enum Level { LOW HIGH SECRET @inaccessible }
""",
            *FED,
        ),
    ),
    (
        "b",
        fed2(
            """
type Query { statuses: [Status!]! levels(max: Level): Int }
enum Status { OPEN CLOSED }
enum Level { LOW HIGH }
""",
            *FED,
        ),
    ),
)

# @override details: the overridden field still used by the source subgraph's @key or to implement an
# interface gets `usedOverridden: true` (also under a progressive label); an @override naming a
# subgraph that does not exist, or a source where the field is @external, overrides nothing (a
# progressive label is kept only when the source subgraph has the field).
OVERRIDE_DETAILS = sources(
    (
        "a",
        fed2(
            """
type Query { p: Product node: Node }
interface Node { id: ID! title: String }
type Product implements Node @key(fields: "id sku") {
  id: ID!
  sku: String!
  title: String
  price: Int
  audit: Int @shareable
}
""",
            *FED,
        ),
    ),
    (
        "b",
        fed2(
            """
type Product @key(fields: "id") {
  id: ID!
  sku: String! @override(from: "a")
  title: String @override(from: "a")
  price: Int @override(from: "a", label: "percent(50)")
  rank: Int @override(from: "nowhere")
  stock: Int @override(from: "c")
  audit: Int @shareable @override(from: "c", label: "beta")
  legacy: Int @override(from: "nowhere", label: "percent(10)")
}
type Query { warehouse: Warehouse }
type Warehouse { id: ID! name: String @override(from: "nowhere") }
""",
            *FED,
        ),
    ),
    (
        "c",
        fed2(
            """
type Product @key(fields: "id") {
  id: ID!
  stock: Int @external
  extra: Int @requires(fields: "stock")
  audit: Int @external
  auditTrail: String @requires(fields: "audit")
}
""",
            *FED,
        ),
    ),
)

# Federation 1 SDL (no @link): `extend type` with @key, and `@extends`.
FED1_EXTENSIONS = sources(
    (
        "products",
        """
type Query { topProducts: [Product] }
type Product @key(fields: "upc") { upc: String! name: String }
type Store @key(fields: "id") { id: ID! city: String }
""",
    ),
    (
        "inventory",
        """
extend type Product @key(fields: "upc") { upc: String! @external stock: Int }
type Store @key(fields: "id") @extends { id: ID! @external open: Boolean }
""",
    ),
    (
        "modern",
        fed2(
            """
type Product @key(fields: "upc") @extends { upc: String! rating: Int }
extend type Store @key(fields: "id") { id: ID! manager: String }
""",
            "@key",
            "@extends",
        ),
    ),
)


def _custom(links: str, composes: str, definitions: str, sdl: str) -> str:
    """A Federation 2 subgraph linking custom specs and composing some of their directives."""
    return (
        'extend schema\n  @link(url: "https://specs.apollo.dev/federation/v2.9", import: '
        '["@key", "@shareable", "@tag", "@inaccessible", "@composeDirective"])\n' + links + composes + definitions + sdl
    )


# @composeDirective: `a` and `b` compose @cached (feature cache v1.0 / v1.1: the supergraph links v1.1
# and takes b's definition), `a` composes @logged (audit's @audited, renamed); `c` links cache v1.0
# without composing it, so its @cached applications are dropped, as is `a`'s uncomposed @hidden.
# A non-repeatable directive applied differently keeps the first subgraph's application on a tie.
COMPOSE_DIRECTIVE = sources(
    (
        "a",
        _custom(
            '  @link(url: "https://myspecs.dev/cache/v1.0", import: ["@cached", "@hidden"])\n'
            '  @link(url: "https://myspecs.dev/audit/v0.2", import: [{name: "@audited", as: "@logged"}])\n',
            '  @composeDirective(name: "@cached")\n  @composeDirective(name: "@logged")\n',
            """
directive @cached(ttl: Int!, scope: Scope = PUBLIC) on FIELD_DEFINITION | OBJECT
directive @hidden on FIELD_DEFINITION
directive @logged(reason: String) repeatable on FIELD_DEFINITION | ARGUMENT_DEFINITION
""",
            """
enum Scope { PUBLIC PRIVATE }
type Query { product(id: ID! @logged(reason: "lookup")): Product @cached(ttl: 60) @logged @logged(reason: "x") }
type Product @key(fields: "id") @cached(ttl: 5) {
  id: ID!
  name: String @shareable @hidden @cached(ttl: 3) @tag(name: "t") @deprecated(reason: "old")
  secret: Int @cached(ttl: 1) @inaccessible
}
""",
        ),
    ),
    (
        "b",
        _custom(
            '  @link(url: "https://myspecs.dev/cache/v1.1", import: ["@cached"])\n',
            '  @composeDirective(name: "@cached")\n',
            "directive @cached(ttl: Int!, scope: Scope = PUBLIC, tags: [String!]) on FIELD_DEFINITION | OBJECT"
            " | INTERFACE\n",
            """
enum Scope { PUBLIC PRIVATE }
type Product @key(fields: "id") @cached(ttl: 10, scope: PRIVATE) {
  id: ID!
  name: String @shareable @cached(ttl: 4)
  price: Int @cached(ttl: 1, tags: ["x"])
}
""",
        ),
    ),
    (
        "c",
        _custom(
            '  @link(url: "https://myspecs.dev/cache/v1.0", import: ["@cached"])\n',
            "",
            "directive @cached(ttl: Int!, scope: Scope = PUBLIC) on FIELD_DEFINITION | OBJECT\n",
            'enum Scope { PUBLIC PRIVATE }\ntype Product @key(fields: "id") { id: ID! stock: Int @cached(ttl: 2) }\n',
        ),
    ),
)

PARITY_FIXTURES: dict[str, list[SubgraphSource]] = {
    "nested_key_collected": NESTED_KEY_COLLECTED,
    "requires_with_args": REQUIRES_WITH_ARGS,
    "enum_inaccessible_value": ENUM_INACCESSIBLE_VALUE,
    "override_details": OVERRIDE_DETAILS,
    "fed1_extensions": FED1_EXTENSIONS,
    "compose_directive": COMPOSE_DIRECTIVE,
}


def _shipping_requiring(selection: str) -> list[SubgraphSource]:
    """`requires_with_args`, with the given @requires selection of `Product.price(currency:)`."""
    shipping = fed2(
        f"""
type Product @key(fields: "id") {{
  id: ID!
  price(currency: String!): Int! @external
  insurance: Int! @requires(fields: {selection!r})
}}
""".replace("'", '"'),
        *FED,
    )
    return [REQUIRES_WITH_ARGS[0], SubgraphSource("shipping", "http://shipping.local/graphql", shipping)]


PARITY_ERROR_FIXTURES: dict[str, list[SubgraphSource]] = {
    # @provides of a field that defines arguments, even when the selection gives none.
    "provides_has_args": sources(
        (
            "a",
            fed2(
                'type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! name(lang: String): String }',
                *FED,
            ),
        ),
        (
            "b",
            fed2(
                """
type Query { top: Product @provides(fields: "name") }
type Product @key(fields: "id") { id: ID! name(lang: String): String @external }
""",
                *FED,
            ),
        ),
    ),
    # Without `regions`, no subgraph can give `customer { region }` before reaching `billing`.
    "nested_key_uncollectable": [s for s in NESTED_KEY_COLLECTED if s.name != "regions"],
    "requires_unknown_argument": _shipping_requiring("price(code: 1)"),
    # With the label off, no subgraph resolves Product.audit (the source has it @external): the
    # satisfiability check tries every label assignment.
    "override_progressive_external_source": sources(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! }', *FED)),
        ("b", fed2('type Product @key(fields: "id") { id: ID! audit: Int @override(from: "c", label: "beta") }', *FED)),
        (
            "c",
            fed2(
                """
type Product @key(fields: "id") { id: ID! audit: Int @external trail: Int @requires(fields: "audit") }
""",
                *FED,
            ),
        ),
    ),
    "override_label_invalid": sources(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! x: Int }', *FED)),
        (
            "b",
            fed2(
                'type Product @key(fields: "id") { id: ID! x: Int @override(from: "a", label: "percent(101)") }', *FED
            ),
        ),
    ),
    "requires_missing_argument": _shipping_requiring("price"),
    # @composeDirective of a directive with no definition, of one outside any linked feature, of a
    # federation directive, without the leading "@", and across major versions of a feature.
    "compose_directive_undefined": sources(
        ("a", _custom("", '  @composeDirective(name: "@nowhere")\n', "", "type Query { a: Int }")),
    ),
    "compose_directive_not_in_feature": sources(
        (
            "a",
            _custom(
                "",
                '  @composeDirective(name: "@mine")\n',
                "directive @mine on FIELD_DEFINITION\n",
                "type Query { a: Int @mine }",
            ),
        ),
    ),
    "compose_directive_federation": sources(
        ("a", _custom("", '  @composeDirective(name: "@key")\n', "", "type Query { a: Int }")),
    ),
    "compose_directive_no_at": sources(
        (
            "a",
            _custom(
                '  @link(url: "https://myspecs.dev/cache/v1.0", import: ["@cached"])\n',
                '  @composeDirective(name: "cached")\n',
                "directive @cached on FIELD_DEFINITION\n",
                "type Query { a: Int @cached }",
            ),
        ),
    ),
    "compose_directive_major_mismatch": sources(
        (
            "a",
            _custom(
                '  @link(url: "https://myspecs.dev/cache/v1.0", import: ["@cached"])\n',
                '  @composeDirective(name: "@cached")\n',
                "directive @cached on FIELD_DEFINITION\n",
                "type Query { a: Int @cached }",
            ),
        ),
        (
            "b",
            _custom(
                '  @link(url: "https://myspecs.dev/cache/v2.0", import: ["@cached"])\n',
                '  @composeDirective(name: "@cached")\n',
                "directive @cached on FIELD_DEFINITION\n",
                "type Query { b: Int @cached }",
            ),
        ),
    ),
}
